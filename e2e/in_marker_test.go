package e2e

import "testing"

// TestINBindMarkerDriver: `IN ?` binds one list, as drivers send it, in
// SELECT, UPDATE and DELETE (a list type wrapped twice refused every
// value before).
func TestINBindMarkerDriver(t *testing.T) {
	_, s := setupKS(t)
	mustExec(t, s, "CREATE TABLE ks.inm (k int, c int, v int, PRIMARY KEY (k, c))")
	for k := 1; k <= 3; k++ {
		for c := 1; c <= 3; c++ {
			mustExec(t, s, "INSERT INTO ks.inm (k, c, v) VALUES (?, ?, ?)", k, c, 10*k+c)
		}
	}
	expectRows(t, s, []string{"11", "13"}, "SELECT v FROM ks.inm WHERE k = ? AND c IN ?", 1, []int{3, 1})
	got := rows(t, s, "SELECT v FROM ks.inm WHERE k IN ? AND c = 2", []int{3, 1})
	if len(got) != 2 {
		t.Fatalf("k IN ? returned %v", got)
	}
	mustExec(t, s, "UPDATE ks.inm SET v = 0 WHERE k IN ? AND c = ?", []int{1, 2}, 3)
	mustExec(t, s, "DELETE FROM ks.inm WHERE k = ? AND c IN ?", 3, []int{1, 2})
	expectRows(t, s, []string{"0"}, "SELECT v FROM ks.inm WHERE k = 2 AND c = 3")
	expectRows(t, s, []string{"33"}, "SELECT v FROM ks.inm WHERE k = 3")
}
