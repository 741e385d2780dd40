//! Devices of the armvm board.
