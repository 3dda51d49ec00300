// Package glacier emulates, in front of a real S3-compatible server, the
// parts of S3 that no local server has: lifecycle configurations with
// transitions, the transitions themselves on an accelerated clock, and
// Glacier restores. The server used here (SeaweedFS) keeps storage classes
// (a CopyObject with StorageClass GLACIER sets it, HEAD reports it) but
// answers lifecycle Transition rules with 501, RestoreObject with 405, and
// never transitions anything.
//
// The layer is a reverse proxy (Handler) that answers only what the server
// cannot and forwards everything else untouched, with the Host header the
// client signed:
//
//   - GET, PUT and DELETE /{bucket}?lifecycle: configurations are kept in
//     memory, checked as S3 checks them (MalformedXML, InvalidArgument,
//     InvalidRequest with S3's messages where known), and read back as they
//     were put; a rule put without an ID gets one.
//   - POST /{bucket}/{key}?restore: 202 for a new restore, 409
//     RestoreAlreadyInProgress while it runs, 200 once done (the expiry
//     counted again from now), 403 InvalidObjectState for an object that is
//     not GLACIER or DEEP_ARCHIVE.
//   - HEAD and GET of an archived object get x-amz-restore once a restore
//     was asked for; GET (ranged too), CopyObject and UploadPartCopy of a
//     GLACIER or DEEP_ARCHIVE object that is not restored get 403
//     InvalidObjectState. GLACIER_IR reads at once.
//
// Sweep runs the rules once, the way S3's daily lifecycle run would, through
// the server's S3 API with the layer's own credentials: an expiration
// deletes the object; a transition copies the object onto itself with the
// new storage class (MetadataDirective COPY, which on SeaweedFS keeps
// content, metadata, tags, checksum and ETag). Run sweeps every DayLength/4.
// Rules follow S3: days are counted from the object's creation and rounded
// up to the next day boundary (midnight UTC for a 24h day, a multiple of
// DayLength since the Unix epoch on the accelerated clock); objects under
// 128 KiB are not transitioned unless the rule filters on size or the bucket
// says varies_by_storage_class (then only to GLACIER and DEEP_ARCHIVE); of
// several transitions due the deepest class wins and nothing moves back up
// S3's waterfall; an expiration due wins over transitions.
//
// Tests start a layer with Start and point a client at Server.URL
// (path-style, the server's credentials), then call Sweep to make lifecycle
// happen now instead of waiting. The demo runs the same layer as a command,
// scripts/glacier. Production code never uses this package.
//
// # Limits
//
//   - State is in memory, in one process: lifecycle configurations, restores
//     and creation times are lost when the layer stops, and two layers in
//     front of one server know nothing of each other. A bucket's
//     configuration is dropped when the bucket is deleted through the
//     layer, or when a sweep finds the bucket gone.
//   - Signatures are not checked for what the layer answers itself
//     (lifecycle, restore, InvalidObjectState): it only refuses requests
//     without an Authorization header or presigned signature. Forwarded
//     requests are checked by the server as usual.
//   - Path-style addressing only.
//   - A transition is a copy, so it changes LastModified, which S3's do not.
//     The layer remembers each object's first LastModified (by key, ETag and
//     the LastModified it left) so that later rules still count from
//     creation, but clients see the copy's time. An object created before
//     the layer first listed it counts from the LastModified seen then.
//   - LastModified has whole seconds on the server, so an object's age is
//     known to a second: with a DayLength under a second, a rule of one day
//     may fall due up to a second early.
//   - Only current versions are acted on (ListObjectsV2): on a versioned
//     bucket a transition copy adds a new version and leaves the old one, an
//     expiration adds a delete marker. NoncurrentVersionTransition,
//     NoncurrentVersionExpiration, ExpiredObjectDeleteMarker and
//     AbortIncompleteMultipartUpload are checked and stored, never acted
//     on.
//   - Rules with tag filters are stored but never act (the layer does not
//     read object tags).
//   - Objects over 5 GiB are transitioned with one CopyObject, which S3
//     would refuse; the local server accepts it.
//   - Restores: one delay per tier whatever the class (S3's Deep Archive is
//     slower, and refuses Expedited); no restore speed upgrade; SELECT
//     restores and OutputLocation answer 501. A restore is tied to the
//     object's ETag and version; an object replaced under the same key is
//     not restored.
//   - A CopyObject whose source is archived is checked with a HEAD before
//     it is forwarded, so a restore that expires in between is not seen.
//   - Lifecycle expiry headers (x-amz-expiration) and restore-related
//     listing fields (RestoreStatus) are not added.
package glacier
