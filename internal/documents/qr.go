// Package documents draws the files SmartAutoCheck hands to customers: the appointment QR code
// as a PNG and invoices as PDFs (certificates and inspection reports will follow and reuse the
// layout helpers in layout.go).
//
// Everything here is deterministic: the same input gives the same bytes. That lets a document be
// re-rendered on demand instead of stored, lets caches and ETags work, and makes tests exact.
package documents

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxQRSize bounds QRPNG's size so a bad caller cannot make it allocate a huge image
// (size² bytes of pixels); 4096 px is far beyond what a phone screen or print needs.
const MaxQRSize = 4096

// ErrEmptyQRContent is returned by QRPNG for empty content: an empty QR code would scan as
// nothing, which always means the caller forgot the token.
var ErrEmptyQRContent = errors.New("documents: QR content is empty")

// QRPNG draws content as a QR code PNG of size×size pixels (error correction Medium). Deterministic:
// the same content and size give the same bytes.
//
// Medium (~15% recovery) survives a scuffed printout or a cracked phone screen while keeping the
// symbol small enough for the long HMAC-signed tokens it carries. The image keeps the standard
// 4-module quiet zone so scanners find it on any background.
//
// size must be between the symbol's own module count (including the quiet zone, so every module
// gets at least one pixel) and MaxQRSize; the underlying library would otherwise silently return
// a larger image than asked for, breaking the size×size promise.
func QRPNG(content string, size int) ([]byte, error) {
	if content == "" {
		return nil, ErrEmptyQRContent
	}
	if size <= 0 || size > MaxQRSize {
		return nil, fmt.Errorf("documents: QR size %d out of range 1..%d", size, MaxQRSize)
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("documents: encode QR: %w", err)
	}
	// Image encodes the symbol once (Bitmap and PNG would each encode it again, and encoding
	// is most of the cost); a symbol larger than size comes back larger than asked.
	img := q.Image(size)
	if got := img.Bounds().Dx(); got != size {
		return nil, fmt.Errorf("documents: QR size %d too small for this content, need at least %d px", size, got)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("documents: write QR PNG: %w", err)
	}
	return buf.Bytes(), nil
}
