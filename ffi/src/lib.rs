//! C ABI of picotag.
