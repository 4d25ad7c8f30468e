package admission

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ringdb/ringdb/internal/pki"
)

// The join exchange, inside TLS 1.3 with pki.JoinALPN, one request and one
// response per connection. All integers are big-endian.
//
// Joiner -> issuer (request):
//
//	"JOIN" | version uint8 (1) | token id [8] | token secret [24] |
//	host id [16] | CSR length uint16 (1..pki.MaxCSRBytes) | CSR (DER)
//
// Issuer -> joiner (response): a status byte; only after StatusOK follow
//
//	certificate length uint16 | node certificate (DER) |
//	CA length uint16 | CA certificate (DER)
//
// A refused request gets its status byte and nothing else.

const (
	wireVersion = 1
	// requestFixedLen is the request up to the CSR.
	requestFixedLen = 4 + 1 + tokenIDLen + tokenSecretLen + 16 + 2
	// MaxRequestLen bounds a request: it is all an issuer reads from a
	// connection without a certificate.
	MaxRequestLen = requestFixedLen + pki.MaxCSRBytes
	// maxCertLen bounds each certificate of a response.
	maxCertLen = 4096
)

var requestMagic = [4]byte{'J', 'O', 'I', 'N'}

// Status is the issuer's answer to a request.
type Status uint8

// Statuses of a response.
const (
	StatusOK              Status = 0
	StatusMalformed       Status = 1 // not a well-formed request (or bad CSR)
	StatusVersion         Status = 2 // unsupported version
	StatusTokenRefused    Status = 3 // unknown token, wrong secret, or revoked
	StatusTokenUsed       Status = 4 // the token was already used
	StatusTokenExpired    Status = 5 // the token has expired
	StatusAddressMismatch Status = 6 // the CSR's address is not the connection's source
	StatusAddressInUse    Status = 7 // the address is a live member's or holds a valid certificate
	StatusInternal        Status = 8 // the issuer failed (disk, CA)
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusMalformed:
		return "malformed request"
	case StatusVersion:
		return "unsupported version"
	case StatusTokenRefused:
		return "token refused"
	case StatusTokenUsed:
		return "token already used"
	case StatusTokenExpired:
		return "token expired"
	case StatusAddressMismatch:
		return "address mismatch"
	case StatusAddressInUse:
		return "address in use"
	case StatusInternal:
		return "issuer failure"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Request is a joiner's request.
type Request struct {
	Version uint8
	ID      TokenID
	Secret  [tokenSecretLen]byte
	HostID  [16]byte
	CSR     []byte
}

// Response is the issuer's answer.
type Response struct {
	Status Status
	Cert   []byte // node certificate (DER), StatusOK only
	CA     []byte // CA certificate (DER), StatusOK only
}

var errMalformedRequest = errors.New("malformed join request")

// AppendRequest encodes r (its CSR must be 1..pki.MaxCSRBytes bytes).
func AppendRequest(b []byte, r Request) []byte {
	b = append(b, requestMagic[:]...)
	b = append(b, r.Version)
	b = append(b, r.ID[:]...)
	b = append(b, r.Secret[:]...)
	b = append(b, r.HostID[:]...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.CSR)))
	return append(b, r.CSR...)
}

// DecodeRequest decodes one complete request. It faces strangers: it never
// reads beyond b, allocates at most len(b), and refuses trailing bytes.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < requestFixedLen || len(b) > MaxRequestLen || [4]byte(b[:4]) != requestMagic {
		return Request{}, errMalformedRequest
	}
	r := Request{Version: b[4]}
	p := b[5:]
	copy(r.ID[:], p)
	p = p[tokenIDLen:]
	copy(r.Secret[:], p)
	p = p[tokenSecretLen:]
	copy(r.HostID[:], p)
	p = p[16:]
	n := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	if n == 0 || n > pki.MaxCSRBytes || len(p) != n {
		return Request{}, errMalformedRequest
	}
	r.CSR = append([]byte(nil), p...)
	return r, nil
}

// readRequest reads one request from r, at most MaxRequestLen bytes.
func readRequest(r io.Reader) (Request, error) {
	buf := make([]byte, requestFixedLen, MaxRequestLen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Request{}, err
	}
	if [4]byte(buf[:4]) != requestMagic {
		return Request{}, errMalformedRequest
	}
	n := int(binary.BigEndian.Uint16(buf[requestFixedLen-2:]))
	if n == 0 || n > pki.MaxCSRBytes {
		return Request{}, errMalformedRequest
	}
	buf = buf[:requestFixedLen+n]
	if _, err := io.ReadFull(r, buf[requestFixedLen:]); err != nil {
		return Request{}, err
	}
	return DecodeRequest(buf)
}

// AppendResponse encodes r.
func AppendResponse(b []byte, r Response) []byte {
	b = append(b, byte(r.Status))
	if r.Status != StatusOK {
		return b
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Cert)))
	b = append(b, r.Cert...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.CA)))
	return append(b, r.CA...)
}

// readResponse reads one response from r (bounded by maxCertLen per
// certificate).
func readResponse(r io.Reader) (Response, error) {
	var st [1]byte
	if _, err := io.ReadFull(r, st[:]); err != nil {
		return Response{}, err
	}
	resp := Response{Status: Status(st[0])}
	if resp.Status != StatusOK {
		return resp, nil
	}
	var err error
	if resp.Cert, err = readBlob(r); err != nil {
		return Response{}, err
	}
	if resp.CA, err = readBlob(r); err != nil {
		return Response{}, err
	}
	return resp, nil
}

func readBlob(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n == 0 || n > maxCertLen {
		return nil, fmt.Errorf("join response: certificate of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
