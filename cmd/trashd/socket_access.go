package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
)

// socketDenied is a dial of the control socket that the file system
// refused: the socket or its directory is not this user's to open. Asking
// whether the service runs, as for a missing socket, would send the operator
// the wrong way.
type socketDenied struct {
	path string
	err  error
}

func (e *socketDenied) Error() string {
	who, name := fmt.Sprintf("uid %d", os.Getuid()), "this user"
	if u, err := user.Current(); err == nil {
		who, name = fmt.Sprintf("user %s (uid %s)", u.Username, u.Uid), u.Username
	}
	// systemd/trashd.service: User= and Group=trashd with DynamicUser=yes,
	// RuntimeDirectoryMode=0750; serve makes the socket 0660.
	return fmt.Sprintf("%v: %s may not open the control socket: serve makes it mode 0660, and the unit's directory for it "+
		"(/run/trashd) is mode 0750, both of the service's user and group, so only root and members of that group can use it: "+
		"run the command as root (sudo), or give the service the static user and group trashd and add %s to the group trashd "+
		"(docs/operations.md, Who may trigger)", e.err, who, name)
}

func (e *socketDenied) Unwrap() error { return e.err }

// controlDialErr marks a refused permission in err, the dial of the control
// socket at path; any other error is returned as it is.
func controlDialErr(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return &socketDenied{path: path, err: err}
	}
	return err
}
