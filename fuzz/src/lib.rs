//! The parsers of outside input, compiled from the server's own source files (the
//! same code, not a copy), for the fuzz targets.

pub mod adapters {
    #[path = "../../../crates/deskbridge/src/adapters/native.rs"]
    pub mod native;

    pub mod ami {
        #[path = "../../../../crates/deskbridge/src/adapters/ami/frame.rs"]
        pub mod frame;
        #[path = "../../../../crates/deskbridge/src/adapters/ami/tracker.rs"]
        pub mod tracker;
    }
}
