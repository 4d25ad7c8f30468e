package pki

import "time"

// Options tunes certificate creation and verification. The zero value is
// valid: every field has a documented default filled in by EnsureDefaults.
type Options struct {
	// CAValidity is how long a new cluster CA certificate is valid.
	// Default 0, meaning 10 calendar years.
	CAValidity time.Duration
	// NodeValidity is how long a new node certificate is valid.
	// Default 0, meaning DefaultNodeValidityYears calendar years.
	NodeValidity time.Duration
	// Now is the clock used for NotBefore/NotAfter of new certificates and
	// for validity checks when loading and verifying. Default time.Now.
	Now func() time.Time
}

// DefaultNodeValidityYears is the default lifetime of a node certificate,
// in calendar years. It was 2; one year bounds how long a stolen node key
// stays useful if its revocation is missed, while rotation is still a
// once-a-year restart per node (issue a new certificate into a new
// directory, swap node.crt/node.key, restart; then revoke the old serial).
const DefaultNodeValidityYears = 1

// clockSkew is how far NotBefore is backdated, so that a certificate issued
// on one machine is valid at once on a peer whose clock is slightly behind.
const clockSkew = time.Hour

// EnsureDefaults fills unset fields with their defaults and returns o.
func (o *Options) EnsureDefaults() *Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func (o *Options) caNotAfter(now time.Time) time.Time {
	if o.CAValidity > 0 {
		return now.Add(o.CAValidity)
	}
	return now.AddDate(10, 0, 0)
}

func (o *Options) nodeNotAfter(now time.Time) time.Time {
	if o.NodeValidity > 0 {
		return now.Add(o.NodeValidity)
	}
	return now.AddDate(DefaultNodeValidityYears, 0, 0)
}
