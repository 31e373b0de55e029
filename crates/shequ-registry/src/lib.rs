//! shequ-registry
