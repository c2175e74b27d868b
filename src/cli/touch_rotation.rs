//! `earshot touch-rotation`: touch turned like the picture, through a udev rule.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::core::problem::Problem;
use crate::files::config::DisplayConfig;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where udev rules go
    #[arg(long, value_name = "DIR", default_value = "/etc/udev/rules.d")]
    pub rules_dir: PathBuf,
    /// Only write the rule; do not ask udev to reload
    #[arg(long)]
    pub no_reload: bool,
}

pub fn run(args: &Args, display: &DisplayConfig) -> Result<ExitCode, Problem> {
    let rotation = display.rotation.degrees();
    let path = crate::system::display::write_touch_rule(&args.rules_dir, rotation)?;
    outln!(
        "touch turned for display.rotation = {rotation}: {}",
        path.display()
    );
    if !args.no_reload {
        for args in [
            &["control", "--reload"][..],
            &["trigger", "--subsystem-match=input", "--action=change"][..],
        ] {
            let status = std::process::Command::new("udevadm")
                .args(args)
                .status()
                .map_err(|e| format!("cannot run udevadm ({e}); reboot for the rule to apply"))?;
            if !status.success() {
                return Err(Problem::new(format!(
                    "`udevadm {}` failed ({status}); reboot for the rule to apply",
                    args.join(" ")
                )));
            }
        }
        outln!("udev reloaded; restart the kiosk (`sudo systemctl restart earshot`) to pick the touchscreen up again");
    }
    Ok(ExitCode::SUCCESS)
}
