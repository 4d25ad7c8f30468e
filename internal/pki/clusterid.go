package pki

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// The cluster id travels in certificates as a URI SAN "urn:uuid:<uuid>"
// (RFC 4122's URN form): neutral, so a certificate names no product.
// Certificates made before carry "ringdb://cluster/<uuid>", still read.
const (
	clusterURNScheme = "urn"
	clusterURNPrefix = "uuid:"
	legacyURIScheme  = "ringdb"
	legacyURIHost    = "cluster"
)

// ClusterURI returns the URI SAN that carries clusterID in certificates.
func ClusterURI(clusterID string) *url.URL {
	return &url.URL{Scheme: clusterURNScheme, Opaque: clusterURNPrefix + clusterID}
}

// newClusterID returns a random (version 4) UUID in canonical lowercase form.
func newClusterID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate cluster id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// validClusterID reports whether s is a UUID in canonical lowercase form.
func validClusterID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// ClusterIDOf returns the cluster id carried by cert. It fails unless cert
// has exactly one cluster id URI SAN ("urn:uuid:<uuid>", or the older
// "ringdb://cluster/<uuid>") and it is well formed.
func ClusterIDOf(cert *x509.Certificate) (string, error) {
	id, err := clusterIDOf(cert)
	if err != nil {
		return "", fmt.Errorf("pki: %w", err)
	}
	return id, nil
}

func clusterIDOf(cert *x509.Certificate) (string, error) {
	var found *url.URL
	for _, u := range cert.URIs {
		if !isClusterURI(u) {
			continue
		}
		if found != nil {
			return "", errors.New("certificate carries more than one cluster id URI")
		}
		found = u
	}
	if found == nil {
		return "", errors.New("certificate carries no cluster id (URI SAN urn:uuid:<uuid>)")
	}
	id, ok := clusterIDFromURI(found)
	if !ok {
		return "", fmt.Errorf("malformed cluster id URI %q", found.String())
	}
	return id, nil
}

// isClusterURI reports whether u is meant as a cluster id URI (well
// formed or not).
func isClusterURI(u *url.URL) bool {
	if strings.EqualFold(u.Scheme, legacyURIScheme) {
		return true
	}
	return strings.EqualFold(u.Scheme, clusterURNScheme) && len(u.Opaque) >= len(clusterURNPrefix) &&
		strings.EqualFold(u.Opaque[:len(clusterURNPrefix)], clusterURNPrefix)
}

// clusterIDFromURI returns the id of a well-formed cluster id URI.
func clusterIDFromURI(u *url.URL) (string, bool) {
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	if u.Scheme == clusterURNScheme {
		id := strings.TrimPrefix(u.Opaque, clusterURNPrefix)
		return id, u.Host == "" && u.Path == "" && strings.HasPrefix(u.Opaque, clusterURNPrefix) && validClusterID(id)
	}
	id := strings.TrimPrefix(u.Path, "/")
	return id, u.Scheme == legacyURIScheme && u.Host == legacyURIHost && u.Opaque == "" &&
		strings.HasPrefix(u.Path, "/") && validClusterID(id)
}
