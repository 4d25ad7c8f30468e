package query

import (
	"bytes"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAppendCell(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    []byte
		want []byte
	}{
		{"null", nil, []byte{0xff, 0xff, 0xff, 0xff}},
		{"empty", []byte{}, []byte{0, 0, 0, 0}},
		{"bytes", []byte{1, 2, 3}, []byte{0, 0, 0, 3, 1, 2, 3}},
		{"long", bytes.Repeat([]byte{7}, 300), append([]byte{0, 0, 1, 44}, bytes.Repeat([]byte{7}, 300)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte{9}
			got := appendCell(prefix, tc.v)
			if !bytes.Equal(got, append([]byte{9}, tc.want...)) {
				t.Fatalf("appendCell(%x) = %x, want 09%x", tc.v, got, tc.want)
			}
			v, rest, ok := readCell(got[1:])
			if !ok || len(rest) != 0 || !bytes.Equal(v, tc.v) || (v == nil) != (tc.v == nil) {
				t.Fatalf("readCell back: %x %x %v", v, rest, ok)
			}
		})
	}
}

// TestNoProtocolImport keeps the dependency direction: the processor sits
// below the native protocol and must not import any of its packages.
func TestNoProtocolImport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, "/internal/protocol") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}
