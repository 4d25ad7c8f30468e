package query

import "testing"

// TestEmptyValuesAreNotNull: an empty text or blob is a value, not null,
// in a clustering column as in a regular one, and through min/max (found
// by an outside test: ” and 0x in clustering columns came back as null).
func TestEmptyValuesAreNotNull(t *testing.T) {
	tp := newTestProc(t, Options{})
	tp.exec("CREATE TABLE e (k int, c text, b blob, v text, PRIMARY KEY (k, c, b))")
	tp.exec("INSERT INTO e (k, c, b, v) VALUES (1, '', 0x, '')")
	tp.exec("INSERT INTO e (k, c, b, v) VALUES (1, 'x', 0x01, 'y')")
	for _, tc := range []struct{ q, want string }{
		// Rendered values: an empty text is an empty string, null is "null".
		{"SELECT c, b, v FROM e WHERE k = 1", ` | 0x |  ; x | 0x01 | y`},
		{"SELECT c FROM e", ` ; x`},
		{"SELECT min(c), min(v) FROM e WHERE k = 1", ` | `},
	} {
		rows := tp.rows(tc.q)
		got := ""
		for i, r := range rows[1:] {
			if i > 0 {
				got += " ; "
			}
			got += r
		}
		if got != tc.want {
			t.Errorf("%s:\n got: %s\nwant: %s", tc.q, got, tc.want)
		}
	}
}
