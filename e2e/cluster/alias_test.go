package cluster

import "github.com/ringdb/ringdb/internal/client"

type clientAlias = client.Client
