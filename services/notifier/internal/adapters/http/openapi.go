package http

import _ "embed"

// OpenAPI is the API's OpenAPI 3.1 document (YAML), served as JSON at
// GET /openapi.json.
//
//go:embed openapi.yaml
var OpenAPI []byte
