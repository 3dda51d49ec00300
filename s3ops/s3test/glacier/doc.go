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
//     not GLACIER or DEEP_ARCHIVE (or Intelligent-Tiering; see the table).
//   - GET, PUT and DELETE /{bucket}?inventory: S3 Inventory configurations,
//     and the reports sweeps write for them (inventory.go says how).
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
// (path-style, the server's credentials), give it a Clock of their own
// (Config.Clock) and move it on with Server.Advance, which sweeps: a
// transition, an expiration or a restore happens when the test advances
// the clock, never after a wall-clock wait. Sweep alone runs the rules now.
// The demo runs the same layer as a command, scripts/glacier, on real time.
// Production code never uses this package.
//
// # How strict it is, and where it says so
//
// Each behaviour below is AWS's, with where AWS says so ("User Guide" is
// the Amazon S3 User Guide, "API" the Amazon S3 API Reference and the S3
// model in aws-sdk-go-v2, service/s3), what the layer does, and what it
// leaves out.
//
//	behaviour                        | AWS source                                       | emulator                                      | leaves out
//	---------------------------------|--------------------------------------------------|-----------------------------------------------|---------------------------------------------
//	V1 and V2 rules not mixed        | API PutBucketLifecycleConfiguration (Filter,     | InvalidRequest "Filter element can only be    | other V1-only checks
//	                                 | Prefix deprecated); S3's messages                | used in Lifecycle V2." / "Base level prefix   |
//	                                 |                                                  | cannot be used in Lifecycle V2, ..."          |
//	PUT lifecycle needs a digest     | API model: PutBucketLifecycleConfiguration is    | 400 InvalidRequest "Missing required header   | which of several bad inputs S3 reports first
//	                                 | httpChecksumRequired (the SDK always sends one)  | for this request: Content-Md5"                |
//	new configuration propagates     | User Guide, Setting a lifecycle configuration:   | LifecyclePropagation: GET and sweeps see the  | partial propagation (some reads old, some new)
//	                                 | "a delay of a few minutes" before it takes effect| previous one for that long after PUT/DELETE   |
//	days rounded to midnight UTC     | User Guide, Lifecycle, number of days: creation  | day boundaries are multiples of DayLength     | a transition on the very first run after
//	                                 | + days, "rounding up ... to the next day's       | since the epoch; Sweep acts when called       | midnight: S3 queues it and may lag hours;
//	                                 | midnight UTC"                                    |                                               | tests call Sweep when they want it
//	128 KB default minimum           | User Guide, Lifecycle transitions (Sept. 2024),  | MinTransitionSize, the bucket's               | nothing known
//	                                 | x-amz-transition-default-minimum-object-size     | x-amz-transition-default-minimum-object-size  |
//	transition keeps LastModified    | User Guide, Transitioning objects (the object is | HEAD and GET through the layer give back the  | listings show the copy's LastModified
//	                                 | not rewritten)                                   | LastModified from before the transition copy  |
//	copy without a class: STANDARD   | API CopyObject x-amz-storage-class ("By default  | a CopyObject naming no class from a source    | UploadPartCopy (the class is the upload's)
//	                                 | ... STANDARD")                                   | in another class is copied onto itself as     |
//	                                 |                                                  | STANDARD (SeaweedFS keeps the source's)       |
//	RestoreObject 202/409/200        | API RestoreObject, Responses and special errors  | as AWS, x-amz-restore byte for byte           | restore speed upgrades
//	restore expiry from the request  | User Guide, Restoring an archived object: days   | expiry = request + Days, rounded up to the    | nothing known
//	                                 | added "to the time you requested", rounded to    | next day boundary and a whole second, for the |
//	                                 | the next midnight UTC, first and later requests  | first request and every 200 after it          |
//	expired header lingers           | not in AWS's documentation: seen on AWS (the     | LingerRestoreHeader: the old x-amz-restore is | how long AWS lets it linger (unpublished)
//	                                 | removal of the copy is asynchronous)             | sent that long after expiry; reads refused    |
//	no Expedited for Deep Archive    | API RestoreObject, Tier: "not available for ...  | 400 InvalidArgument (the code is not          | provisioned capacity
//	                                 | S3 Glacier Deep Archive ... or ... Deep Archive  | documented)                                   |
//	                                 | Access tier"                                     |                                               |
//	no Expedited capacity            | API RestoreObject special errors: 503            | SetExpeditedAvailable(false)                  | capacity per account or region
//	                                 | GlacierExpeditedRetrievalNotAvailable            |                                               |
//	top-level Tier refused           | API RestoreRequest: Tier is a SELECT restore's;  | 400 MalformedXML (the code is not documented) | SELECT restores (501)
//	                                 | an archive restore's is GlacierJobParameters     |                                               |
//	restore of a readable object     | AWS answers 403 InvalidObjectState "Restore is   | as AWS for STANDARD and GLACIER_IR; 403       | whether AWS sends the model's code for
//	                                 | not allowed for the object's current storage     | ObjectAlreadyInActiveTierError (the code the  | Intelligent-Tiering (the layer assumes so)
//	                                 | class" (aws-cli transcripts); the API model      | model names) for INTELLIGENT_TIERING in an    |
//	                                 | lists ObjectAlreadyInActiveTierError             | access tier that reads at once                |
//	copy from an archived source     | AWS answers 403 InvalidObjectState; the API      | InvalidObjectState, or with ArchivedCopyError | nothing known
//	                                 | model lists ObjectNotInActiveTierError for       | CodeObjectNotInActiveTier that code (as moto) |
//	                                 | CopyObject                                       |                                               |
//	Intelligent-Tiering archive tiers| API HeadObject x-amz-archive-status; User Guide, | ArchiveIntelligentTiering puts an object in a | the Intelligent-Tiering configuration API
//	                                 | Restoring an archived object (restore moves the  | tier; HEAD says so, GET/copies refused,       | and the 90/180-day moves themselves
//	                                 | object to Frequent Access); Days refused: 400    | restore without Days (Days: 400 InvalidArgu-  |
//	                                 | InvalidArgument "INTELLIGENT_TIERING objects are | ment), done after the tier's delay            |
//	                                 | not subject to restore expiry ..." (s3cmd #1377) |                                               |
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
//   - A transition is a copy, so it changes LastModified on the server,
//     which S3's transitions do not. The layer remembers each object's first
//     LastModified (by key, ETag and the LastModified it left) so that later
//     rules still count from creation, and gives it back in HEAD and GET;
//     listings show the copy's time. An object created before the layer
//     first listed it counts from the LastModified seen then.
//   - LastModified has whole seconds on the server, so an object's age is
//     known to a second: with a DayLength under a second, a rule of one day
//     may fall due up to a second early.
//   - Only current versions are acted on (ListObjectsV2): an expiration on
//     a versioned bucket adds a delete marker. NoncurrentVersionTransition,
//     NoncurrentVersionExpiration, ExpiredObjectDeleteMarker and
//     AbortIncompleteMultipartUpload are checked and stored, never acted
//     on.
//   - Rules with tag filters are stored but never act (the layer does not
//     read object tags).
//   - Objects over 5 GiB are transitioned with one CopyObject, which S3
//     would refuse; the local server accepts it.
//   - Restores: one delay per tier whatever the class (S3's Deep Archive is
//     slower); no restore speed upgrade; SELECT restores and OutputLocation
//     answer 501. A restore is tied to the object's ETag and version; an
//     object replaced under the same key is not restored. After an
//     Intelligent-Tiering restore HEAD sends no x-amz-restore.
//   - A transition on a versioned bucket adds a version (the copy) and
//     changes the version ID, where S3's keeps the one version: the server
//     cannot change a version's class in place.
//   - A CopyObject whose source is archived is checked with a HEAD before
//     it is forwarded, so a restore that expires in between is not seen.
//   - Lifecycle expiry headers (x-amz-expiration) and restore-related
//     listing fields (RestoreStatus) are not added.
package glacier
