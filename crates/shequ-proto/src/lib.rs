//! The Shequ contracts: generated protobuf messages, gRPC clients and servers, the descriptor set
//! for reflection, and conversions between wire messages and the domain model.

pub mod common {
    pub mod v1 {
        #![allow(
            unused_qualifications,
            clippy::doc_lazy_continuation,
            clippy::large_enum_variant
        )]
        tonic::include_proto!("shequ.common.v1");
    }
}

pub mod audit {
    pub mod v1 {
        #![allow(
            unused_qualifications,
            clippy::doc_lazy_continuation,
            clippy::large_enum_variant
        )]
        tonic::include_proto!("shequ.audit.v1");
    }
}

pub mod registry {
    pub mod v1 {
        #![allow(
            unused_qualifications,
            clippy::doc_lazy_continuation,
            clippy::large_enum_variant
        )]
        tonic::include_proto!("shequ.registry.v1");
    }
}

pub mod survey {
    pub mod v1 {
        #![allow(
            unused_qualifications,
            clippy::doc_lazy_continuation,
            clippy::large_enum_variant
        )]
        tonic::include_proto!("shequ.survey.v1");
    }
}

pub mod monitoring {
    pub mod v1 {
        #![allow(
            unused_qualifications,
            clippy::doc_lazy_continuation,
            clippy::large_enum_variant
        )]
        tonic::include_proto!("shequ.monitoring.v1");
    }
}

/// Service names and full method paths, generated from the contracts: never typed by hand.
pub mod methods {
    include!(concat!(env!("OUT_DIR"), "/shequ_methods.rs"));
}

pub mod codec;
pub mod convert;
pub mod names;

/// Encoded `FileDescriptorSet` of every Shequ contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/shequ_descriptor.bin"));
