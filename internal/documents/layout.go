package documents

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// Page geometry in millimetres (A4 portrait). Every document is a single page with automatic
// page breaks off: fpdf would otherwise start a new page silently mid-table, so instead the
// helpers track how far the body reached and bytes() refuses a page that overflows.
const (
	pageW    = 210.0
	pageH    = 297.0
	margin   = 18.0
	contentW = pageW - 2*margin
	bandH    = 30.0 // brand band across the top
	footerH  = 14.0 // reserved above the bottom margin for footer lines
	lineH    = 5.2  // body line height for 10 pt text
	smallH   = 4.4  // line height for 8–9 pt text
	fontName = "Helvetica"
)

// maxField caps ordinary free-text fields (names, addresses, ids) and maxLong the few long ones
// (a refund reason), in runes. Together with wrapping this keeps any input on one page.
const (
	maxField = 160
	maxLong  = 400
)

type rgb struct{ r, g, b int }

// The house palette: restrained, prints well in greyscale.
var (
	colBrand     = rgb{22, 58, 99}
	colInk       = rgb{33, 37, 41}
	colMuted     = rgb{108, 117, 125}
	colRule      = rgb{206, 212, 218}
	colShade     = rgb{241, 243, 245}
	colWhite     = rgb{255, 255, 255}
	colAlertInk  = rgb{176, 0, 32}
	colAlertFill = rgb{253, 236, 238}
	colOKInk     = rgb{25, 118, 70}
)

// errOverflow means the content did not fit on one page; the field caps should make it
// unreachable, so seeing it means a layout change broke that promise.
var errOverflow = errors.New("documents: content does not fit on one page")

// doc is one single-page document in the house style. Its helpers take already-clean UTF-8 text,
// translate it to the core fonts' cp1252 at the last moment and draw it as real text (Tj
// operators), so the words stay searchable and copyable in any reader.
type doc struct {
	pdf    *fpdf.Fpdf
	tr     func(string) string
	bottom float64 // lowest y the body has reached; checked against the footer in bytes()
}

// newDoc starts an A4 document. created becomes the PDF's CreationDate and ModDate (in UTC, so
// the same instant renders identically whatever the server's zone); fixing them, sorting the
// catalog, and fpdf writing no /ID unless encrypting together make the output byte-for-byte
// reproducible. created must not be zero, or fpdf would substitute time.Now().
func newDoc(title string, created time.Time) *doc {
	pdf := fpdf.New("P", "mm", "A4", "")
	created = created.UTC()
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetProducer("SmartAutoCheck", false)
	pdf.SetCreator("SmartAutoCheck", false)
	pdf.SetAuthor("SmartAutoCheck", false)
	pdf.SetTitle(title, true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.SetCellMargin(0) // alignment is done by the helpers; padding is explicit
	d := &doc{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("")}
	pdf.AddPage()
	d.bottom = margin
	return d
}

// clean flattens s to one line (control characters and runs of white space become one space,
// so a stray newline cannot break a row) and cuts it to max runes with an ellipsis.
func clean(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) > max {
		out = strings.TrimSpace(string([]rune(out)[:max-1])) + "…"
	}
	return out
}

// orDash shows a missing value as a dash rather than an empty gap that looks like a bug.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func (d *doc) font(style string, size float64, c rgb) {
	d.pdf.SetFont(fontName, style, size)
	d.pdf.SetTextColor(c.r, c.g, c.b)
}

func (d *doc) mark(y float64) {
	if y > d.bottom {
		d.bottom = y
	}
}

// bodyLimit is the lowest y body content may reach: above the footer.
func (d *doc) bodyLimit() float64 { return pageH - margin - footerH }

// at draws one line of UTF-8 text s in a w-wide cell at (x, y) with align "L", "C" or "R".
// The text is not wrapped; use para for text that may be long.
func (d *doc) at(x, y, w, h float64, align, s string) {
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(w, h, d.tr(s), "", 0, align+"M", false, 0, "")
}

// wrap breaks UTF-8 text s into lines no wider than w in the current font, measuring the cp1252
// form that is actually drawn. Words longer than a line (ids, tokens) are cut wherever needed.
// The returned lines are already translated.
func (d *doc) wrap(s string, w float64) []string {
	t := d.tr(s)
	if t == "" {
		return []string{""}
	}
	var lines []string
	line := ""
	for _, word := range strings.Split(t, " ") {
		cand := word
		if line != "" {
			cand = line + " " + word
		}
		if d.pdf.GetStringWidth(cand) <= w {
			line = cand
			continue
		}
		if line != "" {
			lines = append(lines, line)
			line = ""
		}
		// word alone may still be too wide: cut it byte by byte (cp1252 is one byte a glyph).
		for d.pdf.GetStringWidth(word) > w {
			n := 1
			for n < len(word) && d.pdf.GetStringWidth(word[:n+1]) <= w {
				n++
			}
			lines = append(lines, word[:n])
			word = word[n:]
		}
		line = word
	}
	return append(lines, line)
}

// wrapN is wrap limited to n lines (at least one); text beyond them is cut with an ellipsis.
// The caps on lines are what keeps any input on one page.
func (d *doc) wrapN(s string, w float64, n int) []string {
	n = max(n, 1)
	lines := d.wrap(s, w)
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n]
	ell := d.tr("…")
	last := lines[n-1]
	for last != "" && d.pdf.GetStringWidth(last+ell) > w {
		last = last[:len(last)-1]
	}
	lines[n-1] = strings.TrimRight(last, " ") + ell
	return lines
}

// para draws s wrapped to width w, at most n lines, from (x, y) with line height h and returns
// the y below it.
func (d *doc) para(x, y, w, h float64, n int, align, s string) float64 {
	for _, l := range d.wrapN(s, w, n) {
		d.pdf.SetXY(x, y)
		d.pdf.CellFormat(w, h, l, "", 0, align+"M", false, 0, "")
		y += h
	}
	d.mark(y)
	return y
}

func (d *doc) fillRect(x, y, w, h float64, c rgb) {
	d.pdf.SetFillColor(c.r, c.g, c.b)
	d.pdf.Rect(x, y, w, h, "F")
}

func (d *doc) hrule(x, y, w float64, c rgb, width float64) {
	d.pdf.SetDrawColor(c.r, c.g, c.b)
	d.pdf.SetLineWidth(width)
	d.pdf.Line(x, y, x+w, y)
}

// band draws the brand band across the top: the company on the left, the document title and
// a status badge (e.g. "PAID", "REFUNDED") on the right. It returns the y where the body starts.
func (d *doc) band(title, status string, statusCol rgb) float64 {
	d.fillRect(0, 0, pageW, bandH, colBrand)
	d.font("B", 20, colWhite)
	d.at(margin, 8, contentW/2, 9, "L", "SmartAutoCheck")
	d.font("", 9, colWhite)
	d.at(margin, 17, contentW/2, smallH, "L", "Vehicle inspection centers")
	d.font("B", 18, colWhite)
	d.at(margin+contentW/2, 7, contentW/2, 9, "R", title)
	if status != "" {
		d.font("B", 9, statusCol)
		w := d.pdf.GetStringWidth(d.tr(status)) + 6
		x := pageW - margin - w
		d.fillRect(x, 17, w, 6, colWhite)
		d.at(x, 17, w, 6, "C", status)
	}
	d.mark(bandH)
	return bandH + 10
}

// section draws a small upper-case heading with a rule under it across width w from (x, y) and
// returns the y where its content starts.
func (d *doc) section(x, y, w float64, title string) float64 {
	d.font("B", 9, colBrand)
	d.at(x, y, w, smallH, "L", strings.ToUpper(title))
	d.hrule(x, y+smallH+0.8, w, colRule, 0.3)
	d.mark(y + smallH + 1)
	return y + smallH + 3
}

// field is one label/value row of a fields block; its value wraps to at most lines lines.
type field struct {
	label, value string
	lines        int
}

// fields lays out label/value rows in a block w wide at (x, y): muted labels in a labelW column,
// values wrapped in the rest. With draw false it only measures. It returns the y below the block.
func (d *doc) fields(x, y, w, labelW float64, fs []field, valueCol rgb, draw bool) float64 {
	for _, f := range fs {
		d.font("", 10, valueCol)
		lines := d.wrapN(f.value, w-labelW, f.lines)
		if draw {
			d.font("", 9, colMuted)
			d.at(x, y, labelW, lineH, "L", f.label)
			d.font("", 10, valueCol)
			for i, l := range lines {
				d.pdf.SetXY(x+labelW, y+float64(i)*lineH)
				d.pdf.CellFormat(w-labelW, lineH, l, "", 0, "LM", false, 0, "")
			}
		}
		y += float64(len(lines))*lineH + 0.8
	}
	if draw {
		d.mark(y)
	}
	return y
}

// column is one column of a table.
type column struct {
	title string
	w     float64
	align string // "L" or "R"
}

// tablePad is the horizontal padding inside table cells.
const tablePad = 2.0

// tableCellLines caps how many lines one table cell may wrap to.
const tableCellLines = 2

// table draws a header row on a shaded band and then rows whose cells wrap to their column (at
// most tableCellLines), each row as tall as its tallest cell, with a rule under every row. It
// returns the y below it.
func (d *doc) table(x, y float64, cols []column, rows [][]string) float64 {
	total := 0.0
	for _, c := range cols {
		total += c.w
	}
	d.fillRect(x, y, total, lineH+2, colShade)
	d.font("B", 9, colInk)
	cx := x
	for _, c := range cols {
		d.at(cx+tablePad, y+1, c.w-2*tablePad, lineH, c.align, c.title)
		cx += c.w
	}
	y += lineH + 2
	d.font("", 10, colInk)
	for _, row := range rows {
		cells := make([][]string, len(cols))
		n := 1
		for i, c := range cols {
			v := ""
			if i < len(row) {
				v = row[i]
			}
			cells[i] = d.wrapN(v, c.w-2*tablePad, tableCellLines)
			n = max(n, len(cells[i]))
		}
		cx = x
		for i, c := range cols {
			for j, l := range cells[i] {
				d.pdf.SetXY(cx+tablePad, y+1.5+float64(j)*lineH)
				d.pdf.CellFormat(c.w-2*tablePad, lineH, l, "", 0, c.align+"M", false, 0, "")
			}
			cx += c.w
		}
		y += float64(n)*lineH + 3
		d.hrule(x, y, total, colRule, 0.3)
	}
	d.mark(y)
	return y
}

// notice draws a tinted, bordered box across width w at (x, y) with a bold title, a message
// (at most two lines) and label/value fields. It is meant for things a reader must not miss (a refund, a
// failed inspection), so the title and message are real text, searchable like the rest.
// It returns the y below the box.
func (d *doc) notice(x, y, w float64, title, message string, fs []field, ink, fill rgb) float64 {
	const pad = 4.0
	inner := w - 2*pad
	labelW := 38.0
	// Measure first: the fill must be painted before the text that sits on it.
	d.font("", 10, ink)
	msgLines := d.wrapN(message, inner, 2)
	h := pad + 7 + float64(len(msgLines))*lineH + 2
	h = d.fields(x+pad, y+h, inner, labelW, fs, colInk, false) - y + pad - 0.8
	d.pdf.SetDrawColor(ink.r, ink.g, ink.b)
	d.pdf.SetFillColor(fill.r, fill.g, fill.b)
	d.pdf.SetLineWidth(0.6)
	d.pdf.Rect(x, y, w, h, "FD")
	d.fillRect(x, y, 2, h, ink) // accent bar on the left edge
	d.font("B", 13, ink)
	d.at(x+pad, y+pad, inner, 7, "L", title)
	cy := y + pad + 7
	d.font("", 10, ink)
	cy = d.para(x+pad, cy, inner, lineH, 2, "L", message) + 2
	d.fields(x+pad, cy, inner, labelW, fs, colInk, true)
	d.mark(y + h)
	return y + h
}

// footer writes small centred lines at the bottom of the page, inside the space reserved for it.
func (d *doc) footer(lines ...string) {
	top := d.bodyLimit() + 2
	d.hrule(margin, top, contentW, colRule, 0.3)
	d.font("", 8, colMuted)
	for i, l := range lines {
		d.at(margin, top+2+float64(i)*smallH, contentW, smallH, "C", l)
	}
}

// bytes finishes the document. It fails if the body ran into the footer (see errOverflow) or if
// fpdf recorded an error while drawing (fpdf defers errors to Output).
func (d *doc) bytes() ([]byte, error) {
	if d.bottom > d.bodyLimit() {
		return nil, fmt.Errorf("%w (body ends at %.1f mm, limit %.1f mm)", errOverflow, d.bottom, d.bodyLimit())
	}
	var buf bytes.Buffer
	if err := d.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("documents: render PDF: %w", err)
	}
	return buf.Bytes(), nil
}
