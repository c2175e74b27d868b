//! What makes the kiosk an appliance outside the program: the Debian package, installed into a
//! scratch root, and the systemd units, users and udev rules of kiosk and collector, each
//! checked with the tools that will read them.

/// The Debian package made by cargo-deb, and dpkg installing it.
mod package;
/// The systemd units, the users and the udev rules.
mod systemd_units;
