package cql

import "strings"

// Roles, users and permissions.

// roleName parses a role name: identifier, quoted identifier or string
// literal (which keeps its case).
func (p *parser) roleName() string {
	t := p.peek()
	switch {
	case t.kind == tString:
		p.next()
		return t.val
	case t.isPunct("?") || t.isPunct(":"):
		p.failAt(t, "Bind variables cannot be used for role names")
		return ""
	}
	return p.ident()
}

// userName parses a user name: identifier or string literal; quoted
// identifiers are rejected as Cassandra does.
func (p *parser) userName() string {
	t := p.peek()
	switch t.kind {
	case tString:
		p.next()
		return t.val
	case tQIdent:
		p.failAt(t, "Quoted strings are are not supported for user names and USER is deprecated, please use ROLE")
		return ""
	}
	return p.ident()
}

// stringLit parses a string literal.
func (p *parser) stringLit() string {
	t := p.peek()
	if t.kind != tString {
		p.failMismatch("STRING_LITERAL")
		return ""
	}
	p.next()
	return t.val
}

// boolLit parses true or false.
func (p *parser) boolLit() bool {
	t := p.peek()
	if !t.isKw("true") && !t.isKw("false") {
		p.failMismatch("BOOLEAN")
		return false
	}
	p.next()
	return t.val == "true"
}

// roleOptions parses roleOption (AND roleOption)*.
func (p *parser) roleOptions(o *RoleOptions) {
	for {
		t := p.peek()
		switch {
		case t.isKw("password"):
			p.next()
			p.expectPunct("=")
			s := p.stringLit()
			o.Password = &s
		case t.isKw("hashed"):
			p.next()
			p.expectKw("password")
			p.expectPunct("=")
			s := p.stringLit()
			o.HashedPassword = &s
		case t.isKw("login"):
			p.next()
			p.expectPunct("=")
			b := p.boolLit()
			o.Login = &b
		case t.isKw("superuser"):
			p.next()
			p.expectPunct("=")
			b := p.boolLit()
			o.Superuser = &b
		case t.isKw("options"):
			p.next()
			p.expectPunct("=")
			if v, ok := p.propertyValue().(*MapLiteral); ok {
				o.Options = v
			} else {
				p.failAt(t, "OPTIONS must be a map literal")
			}
		case t.isKw("access"):
			p.next()
			p.expectKw("to")
			if p.acceptKw("all") {
				p.expectKw("datacenters")
				o.AccessToAllDatacenters = true
				break
			}
			p.expectKw("datacenters")
			p.expectPunct("{")
			for {
				o.AccessToDatacenters = append(o.AccessToDatacenters, p.stringLit())
				if p.err != nil || !p.acceptPunct(",") {
					break
				}
			}
			p.expectPunct("}")
		default:
			p.failNoViable()
		}
		if p.err != nil || !p.acceptKw("and") {
			return
		}
	}
}

// userOptions parses [WITH [HASHED] PASSWORD 'p'] [SUPERUSER | NOSUPERUSER].
func (p *parser) userOptions() (pw *string, hashed bool, super *bool) {
	if p.acceptKw("with") {
		hashed = p.acceptKw("hashed")
		p.expectKw("password")
		s := p.stringLit()
		pw = &s
	}
	switch {
	case p.acceptKw("superuser"):
		b := true
		super = &b
	case p.acceptKw("nosuperuser"):
		b := false
		super = &b
	}
	return pw, hashed, super
}

// permissions parses ALL [PERMISSIONS] | perm [PERMISSION] (',' perm [PERMISSION])*.
func (p *parser) permissions() (all bool, perms []string) {
	if p.acceptKw("all") {
		p.acceptKw("permissions")
		return true, nil
	}
	for {
		t := p.peek()
		if t.kind != tIdent || !permissionNames[t.val] {
			p.failNoViable()
			return false, perms
		}
		p.next()
		perms = append(perms, strings.ToUpper(t.val))
		if !p.acceptKw("permission") {
			p.acceptKw("permissions")
		}
		if p.err != nil || !p.acceptPunct(",") {
			return false, perms
		}
	}
}

// resource parses the object of a permission statement.
func (p *parser) resource() Resource {
	t := p.peek()
	switch {
	case t.isKw("all") && p.isKwN(1, "keyspaces"):
		p.next()
		p.next()
		return Resource{Kind: ResourceAllKeyspaces}
	case t.isKw("all") && p.isKwN(1, "roles"):
		p.next()
		p.next()
		return Resource{Kind: ResourceAllRoles}
	case t.isKw("all") && p.isKwN(1, "mbeans"):
		p.next()
		p.next()
		return Resource{Kind: ResourceAllMBeans}
	case t.isKw("all") && p.isKwN(1, "functions"):
		p.next()
		p.next()
		r := Resource{Kind: ResourceAllFunctions}
		if p.acceptKw("in") {
			p.expectKw("keyspace")
			r.Keyspace = p.keyspaceName()
		}
		return r
	case t.isKw("keyspace"):
		p.next()
		return Resource{Kind: ResourceKeyspace, Keyspace: p.keyspaceName()}
	case t.isKw("role"):
		p.next()
		return Resource{Kind: ResourceRole, Name: p.roleName()}
	case t.isKw("mbean"), t.isKw("mbeans"):
		p.next()
		return Resource{Kind: ResourceMBean, Name: p.stringLit()}
	case t.isKw("function") && !p.peekN(1).isPunct(".") && !p.isKwN(1, "on") && !p.isKwN(1, "to") && !p.isKwN(1, "from") && !p.isKwN(1, "of"):
		p.next()
		q := p.functionName()
		r := Resource{Kind: ResourceFunction, Keyspace: q.Keyspace, Name: q.Name}
		p.expectPunct("(")
		if !p.acceptPunct(")") {
			for {
				r.ArgTypes = append(r.ArgTypes, p.typeRef())
				if p.err != nil || !p.acceptPunct(",") {
					break
				}
			}
			p.expectPunct(")")
		}
		return r
	}
	if t.isKw("table") || t.isKw("columnfamily") {
		p.next()
	}
	q := p.qualifiedName()
	return Resource{Kind: ResourceTable, Keyspace: q.Keyspace, Name: q.Name}
}

// isPermissionGrant reports whether GRANT/REVOKE is followed by a
// permission list and ON (rather than a role name and TO/FROM).
func (p *parser) isPermissionGrant() bool {
	return p.try(func() {
		p.permissions()
		p.expectKw("on")
	})
}

func (p *parser) grantStatement() Statement {
	start := p.next() // GRANT
	s := p.save()
	if p.isPermissionGrant() {
		p.restore(s)
		g := &GrantPermissionsStatement{StmtBase: newBase(start)}
		g.All, g.Permissions = p.permissions()
		p.expectKw("on")
		g.Resource = p.resource()
		p.expectKw("to")
		g.Grantee = p.roleName()
		return g
	}
	g := &GrantRoleStatement{StmtBase: newBase(start)}
	g.Role = p.roleName()
	p.expectKw("to")
	g.Grantee = p.roleName()
	return g
}

func (p *parser) revokeStatement() Statement {
	start := p.next() // REVOKE
	s := p.save()
	if p.isPermissionGrant() {
		p.restore(s)
		r := &RevokePermissionsStatement{StmtBase: newBase(start)}
		r.All, r.Permissions = p.permissions()
		p.expectKw("on")
		r.Resource = p.resource()
		p.expectKw("from")
		r.Revokee = p.roleName()
		return r
	}
	r := &RevokeRoleStatement{StmtBase: newBase(start)}
	r.Role = p.roleName()
	p.expectKw("from")
	r.Revokee = p.roleName()
	return r
}

func (p *parser) listStatement() Statement {
	start := p.next() // LIST
	switch {
	case p.acceptKw("roles"):
		s := &ListRolesStatement{StmtBase: newBase(start)}
		if p.acceptKw("of") {
			s.Of = p.roleName()
		}
		s.NoRecursive = p.acceptKw("norecursive")
		return s
	case p.acceptKw("users"):
		return &ListUsersStatement{StmtBase: newBase(start)}
	}
	s := &ListPermissionsStatement{StmtBase: newBase(start)}
	s.All, s.Permissions = p.permissions()
	if p.acceptKw("on") {
		r := p.resource()
		s.Resource = &r
	}
	if p.acceptKw("of") {
		s.Of = p.roleName()
	}
	s.NoRecursive = p.acceptKw("norecursive")
	return s
}

// String renders the resource as Cassandra's resource name, e.g. "data",
// "data/ks", "data/ks/t", "roles/r", "functions/ks/f[int^text]",
// "mbean/name". A table with no keyspace renders as "data//t" (the
// executor resolves the current keyspace first).
func (r Resource) String() string {
	switch r.Kind {
	case ResourceAllKeyspaces:
		return "data"
	case ResourceKeyspace:
		return "data/" + r.Keyspace
	case ResourceTable:
		return "data/" + r.Keyspace + "/" + r.Name
	case ResourceAllRoles:
		return "roles"
	case ResourceRole:
		return "roles/" + r.Name
	case ResourceAllFunctions:
		if r.Keyspace != "" {
			return "functions/" + r.Keyspace
		}
		return "functions"
	case ResourceFunction:
		args := make([]string, len(r.ArgTypes))
		for i, a := range r.ArgTypes {
			args[i] = a.String()
		}
		return "functions/" + r.Keyspace + "/" + r.Name + "[" + strings.Join(args, "^") + "]"
	case ResourceAllMBeans:
		return "mbean"
	case ResourceMBean:
		return "mbean/" + r.Name
	}
	return "unknown"
}
