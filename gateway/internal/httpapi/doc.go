// Package httpapi turns the generated grpc-gateway handlers into the REST API
// of the contract. It only adapts transport details (JSON options, HTTP status
// codes, body checks, logging, metrics); every business rule lives in the C++
// server.
package httpapi
