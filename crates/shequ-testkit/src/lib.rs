//! shequ-testkit
