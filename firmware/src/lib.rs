//! Loaders and firmware services.
