package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// NewOutbox returns the default provider, which writes notifications as
// files under dir instead of sending them: emails to dir/email/<ID>.eml
// (RFC 5322, as produced by Compose) and SMS to dir/sms/<ID>.txt (header
// lines To:, Date: and Message-ID:, a blank line, then the text).
//
// Files appear atomically and completely, never half-written, because the
// content goes to a hidden temp file in the same directory that is fsynced
// and then linked into place; a crash leaves at most a stray ".<ID>.*.tmp"
// file, which readers should ignore and which is safe to delete. If the file
// for an ID already exists, Send does nothing and returns the same id, so
// retried and concurrent sends of one notification produce exactly one file.
func NewOutbox(dir string) Provider {
	return &outbox{dir: dir}
}

type outbox struct {
	dir string
}

// Directory and file permissions: notifications may carry personal data, so
// nothing is world-readable, but a group (e.g. a pickup daemon) may read.
const (
	outboxDirPerm  fs.FileMode = 0o750
	outboxFilePerm fs.FileMode = 0o640
)

func (o *outbox) Name() string { return "outbox" }

func (o *outbox) Send(ctx context.Context, m Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var sub, ext string
	switch m.Channel {
	case Email:
		sub, ext = "email", ".eml"
	case SMS:
		sub, ext = "sms", ".txt"
	default:
		return "", fmt.Errorf("mail: outbox cannot store channel %q: %w", m.Channel, ErrUnsupportedChannel)
	}
	if err := validateID(m.ID); err != nil {
		return "", err
	}
	id := messageID(m.ID)
	dir := filepath.Join(o.dir, sub)
	final := filepath.Join(dir, m.ID+ext)
	if _, err := os.Lstat(final); err == nil {
		return id, nil
	}

	var data []byte
	var err error
	if m.Channel == Email {
		data, err = Compose(m)
	} else {
		data, err = composeSMS(m)
	}
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, outboxDirPerm); err != nil {
		return "", fmt.Errorf("mail: outbox: %w", err)
	}
	if err := publish(dir, final, "."+m.ID+".*.tmp", data); err != nil {
		return "", fmt.Errorf("mail: outbox: %w", err)
	}
	return id, nil
}

// composeSMS renders the SMS outbox file. LF line endings because it is a
// plain text file for people and scripts, not an RFC 5322 message (net/mail
// still reads it).
func composeSMS(m Message) ([]byte, error) {
	if err := validatePhone(m.To); err != nil {
		return nil, err
	}
	if len(m.Attachments) > 0 {
		return nil, fmt.Errorf("%w: SMS cannot carry attachments", ErrInvalidMessage)
	}
	var b strings.Builder
	b.WriteString("To: " + m.To + "\n")
	b.WriteString("Date: " + messageDate(m).Format(dateFormat) + "\n")
	b.WriteString("Message-ID: " + messageID(m.ID) + "\n")
	b.WriteString("\n")
	b.WriteString(m.Text)
	return []byte(b.String()), nil
}

// publish makes data appear at final atomically and only if final does not
// exist yet. Linking (instead of renaming) the temp file is what makes
// concurrent sends of one ID safe: link fails if the name is taken, whereas
// rename would replace a file a reader may already be processing.
func publish(dir, final, pattern string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		// After a successful link the temp name is just a second link.
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = rmErr
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if runtime.GOOS != "windows" {
		if err = f.Chmod(outboxFilePerm); err != nil {
			f.Close()
			return err
		}
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}

	err = os.Link(tmp, final)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		// Someone else published the same ID first; theirs wins.
		return nil
	default:
		// Some file systems have no hard links. Fall back to rename, which is
		// still atomic but may replace a concurrent winner with an
		// equivalent file.
		if _, statErr := os.Lstat(final); statErr == nil {
			return nil
		}
		if err = os.Rename(tmp, final); err != nil {
			return err
		}
	}
	return syncDir(dir)
}

// syncDir makes the new directory entry durable, so a file that Send
// reported as written survives a power loss.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
