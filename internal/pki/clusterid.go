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

// clusterURIScheme and clusterURIHost form the cluster id URI SAN
// "ringdb://cluster/<uuid>".
const (
	clusterURIScheme = "ringdb"
	clusterURIHost   = "cluster"
)

// ClusterURI returns the URI SAN that carries clusterID in certificates.
func ClusterURI(clusterID string) *url.URL {
	return &url.URL{Scheme: clusterURIScheme, Host: clusterURIHost, Path: "/" + clusterID}
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
// has exactly one "ringdb:" URI SAN and that URI is a well-formed
// "ringdb://cluster/<uuid>".
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
		if !strings.EqualFold(u.Scheme, clusterURIScheme) {
			continue
		}
		if found != nil {
			return "", errors.New("certificate carries more than one ringdb:// URI")
		}
		found = u
	}
	if found == nil {
		return "", errors.New("certificate carries no cluster id (URI SAN ringdb://cluster/<uuid>)")
	}
	id := strings.TrimPrefix(found.Path, "/")
	if found.Scheme != clusterURIScheme || found.Host != clusterURIHost || found.User != nil ||
		found.RawQuery != "" || found.Fragment != "" || found.Opaque != "" ||
		!strings.HasPrefix(found.Path, "/") || !validClusterID(id) {
		return "", fmt.Errorf("malformed cluster id URI %q", found.String())
	}
	return id, nil
}
