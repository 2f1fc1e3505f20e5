//! Logging in, keeping tokens, and authenticated calls to the server.
