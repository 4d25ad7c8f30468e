package admission

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"

	"github.com/ringdb/ringdb/internal/pki"
)

func testRequest(t testing.TB, csrLen int) Request {
	t.Helper()
	r := Request{Version: wireVersion, CSR: make([]byte, csrLen)}
	rand.Read(r.ID[:])
	rand.Read(r.Secret[:])
	rand.Read(r.HostID[:])
	rand.Read(r.CSR)
	return r
}

func TestRequestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 300, pki.MaxCSRBytes} {
		r := testRequest(t, n)
		b := AppendRequest(nil, r)
		got, err := DecodeRequest(b)
		if err != nil {
			t.Fatalf("csr %d bytes: %v", n, err)
		}
		if got.Version != r.Version || got.ID != r.ID || got.Secret != r.Secret || got.HostID != r.HostID || !bytes.Equal(got.CSR, r.CSR) {
			t.Fatalf("round trip differs")
		}
		got2, err := readRequest(bytes.NewReader(append(b, "trailing bytes are the next read's"...)))
		if err != nil || !bytes.Equal(AppendRequest(nil, got2), b) {
			t.Fatalf("readRequest: %v", err)
		}
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	good := AppendRequest(nil, testRequest(t, 100))
	csrLenAt := requestFixedLen - 2
	withLen := func(n uint16) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint16(b[csrLenAt:], n)
		return b
	}
	huge := AppendRequest(nil, testRequest(t, pki.MaxCSRBytes))
	binary.BigEndian.PutUint16(huge[csrLenAt:], pki.MaxCSRBytes+1)
	huge = append(huge, 0)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          good[:requestFixedLen-1],
		"bad magic":      append([]byte("NIOJ"), good[4:]...),
		"length short":   withLen(99),
		"length long":    withLen(101),
		"length zero":    append(withLen(0)[:requestFixedLen], good[requestFixedLen:]...),
		"trailing":       append(bytes.Clone(good), 0),
		"csr too large":  huge,
		"over max total": make([]byte, MaxRequestLen+1),
	} {
		if _, err := DecodeRequest(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
		// On a stream, bytes after a complete request are not its own.
		if _, err := readRequest(bytes.NewReader(b)); err == nil && name != "trailing" && name != "length short" {
			t.Errorf("%s: readRequest accepted", name)
		}
	}
}

// FuzzDecodeRequest: the request decoder faces anyone who can reach port
// 7000 with the join protocol. It never panics, accepts only what encodes
// back to the same bytes, and readRequest (what the issuer runs on the
// connection) agrees with it without reading more than MaxRequestLen.
func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendRequest(nil, testRequest(f, 1)))
	f.Add(AppendRequest(nil, testRequest(f, 200)))
	f.Add([]byte("JOIN"))
	f.Add(make([]byte, requestFixedLen))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err == nil {
			if !bytes.Equal(AppendRequest(nil, r), b) {
				t.Fatalf("accepted %x but re-encodes differently", b)
			}
			if len(r.CSR) == 0 || len(r.CSR) > pki.MaxCSRBytes {
				t.Fatalf("accepted a CSR of %d bytes", len(r.CSR))
			}
		}
		src := &countingReader{r: bytes.NewReader(b)}
		r2, err2 := readRequest(src)
		if src.n > MaxRequestLen {
			t.Fatalf("readRequest read %d bytes", src.n)
		}
		if err == nil && (err2 != nil || !bytes.Equal(AppendRequest(nil, r2), b)) {
			t.Fatalf("DecodeRequest accepted, readRequest: %v", err2)
		}
		if err2 == nil && err != nil && src.n == len(b) {
			t.Fatalf("readRequest accepted all of %x, DecodeRequest refused: %v", b, err)
		}
	})
}

type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestResponseRoundTrip(t *testing.T) {
	ok := Response{Status: StatusOK, Cert: bytes.Repeat([]byte{1}, 500), CA: bytes.Repeat([]byte{2}, 400)}
	got, err := readResponse(bytes.NewReader(AppendResponse(nil, ok)))
	if err != nil || got.Status != StatusOK || !bytes.Equal(got.Cert, ok.Cert) || !bytes.Equal(got.CA, ok.CA) {
		t.Fatalf("ok response: %+v, %v", got, err)
	}
	refused := AppendResponse(nil, Response{Status: StatusTokenUsed, Cert: []byte("never sent")})
	if len(refused) != 1 {
		t.Fatalf("a refusal is one byte, got %d", len(refused))
	}
	if got, err := readResponse(bytes.NewReader(refused)); err != nil || got.Status != StatusTokenUsed || got.Cert != nil {
		t.Fatalf("refusal: %+v, %v", got, err)
	}
	big := []byte{0, 0xff, 0xff}
	if _, err := readResponse(bytes.NewReader(big)); err == nil {
		t.Fatal("oversized certificate accepted")
	}
}
