package reconcile

import "errors"

// Adapters wrap their errors around one of these sentinels so that the
// runner can decide what to do without knowing the SDK or the driver.
var (
	// ErrNotFound: the object (or bucket, for HEAD of an object) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPreconditionFailed: a conditional request lost (the source changed).
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrArchived: the object is in an archive class and not restored.
	ErrArchived = errors.New("object is archived")
	// ErrTransient: worth retrying later (5xx, SlowDown, timeouts, lost connections).
	ErrTransient = errors.New("transient error")
	// ErrPermanent: retrying will not help until someone changes something.
	ErrPermanent = errors.New("permanent error")
	// ErrLeaseLost: the record's lease expired and was taken over, or released.
	ErrLeaseLost = errors.New("lease lost")
	// ErrVerify: the trash copy does not match the source.
	ErrVerify = errors.New("copy does not match source")
)
