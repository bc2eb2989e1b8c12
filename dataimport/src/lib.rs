//! Sample data for sde.
