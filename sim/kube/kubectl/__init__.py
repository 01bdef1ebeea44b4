"""What only kubectl needs of the API server: discovery and OpenAPI, Tables, protobuf bodies."""
