package cql

// String methods for the AST's enumerations (used in debugging output and
// golden test files).

func enumName(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "unknown"
}

// String returns the kind's name, e.g. "single", "multi", "token", "element".
func (k RelationKind) String() string {
	return enumName([]string{"single", "multi", "token", "element"}, int(k))
}

// String returns the kind's name, e.g. "set", "add", "prepend".
func (k AssignKind) String() string {
	return enumName([]string{"set", "add", "sub", "prepend", "element", "field"}, int(k))
}

// String returns "LOGGED", "UNLOGGED" or "COUNTER".
func (t BatchType) String() string {
	return enumName([]string{"LOGGED", "UNLOGGED", "COUNTER"}, int(t))
}

// String returns the kind's name, e.g. "add", "drop", "rename".
func (k AlterTableKind) String() string {
	return enumName([]string{"add", "drop", "rename", "alter-type", "with", "drop-compact-storage"}, int(k))
}

// String returns the kind's name: "add", "rename" or "alter-type".
func (k AlterTypeKind) String() string {
	return enumName([]string{"add", "rename", "alter-type"}, int(k))
}

// String returns "simple", "keys", "values", "entries" or "full".
func (k IndexTargetKind) String() string {
	return enumName([]string{"simple", "keys", "values", "entries", "full"}, int(k))
}

// String returns the kind's name, e.g. "all-keyspaces", "table".
func (k ResourceKind) String() string {
	return enumName([]string{"all-keyspaces", "keyspace", "table", "all-roles", "role",
		"all-functions", "function", "all-mbeans", "mbean"}, int(k))
}
