//! One boot of the guest under QEMU, and the three ways the test talks to it: QEMU's own
//! monitor (QMP, for screen dumps and the scanner's pty), the agent inside the guest (over a
//! virtio-serial port), and the scanner's serial port (a pty on this machine).

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::screen::Picture;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// What every boot of one test run shares.
#[derive(Debug, Clone)]
pub struct VmConfig {
    pub arch: Arch,
    /// The run's copy of the cached image.
    pub disk: PathBuf,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The run's folder: sockets, console logs, screen dumps.
    pub dir: PathBuf,
    pub kvm: bool,
    /// The host's end of the forward to the guest's collector (127.0.0.1 only).
    pub host_port: u16,
    pub width: u32,
    pub height: u32,
    /// How much longer than with KVM anything may take (emulation is slower).
    pub slowness: u32,
}

impl VmConfig {
    /// A deadline scaled by how slow this machine runs the guest.
    pub fn within(&self, with_kvm: Duration) -> Duration {
        with_kvm * self.slowness
    }
}

pub struct Vm {
    child: Child,
    qmp: Qmp,
    agent: Agent,
    scanner: Option<std::fs::File>,
    pub console: PathBuf,
    dir: PathBuf,
    dumps: u32,
    pub boot: u32,
}

impl Vm {
    /// Starts QEMU and waits until the agent in the guest answers.
    pub fn boot(config: &VmConfig, boot: u32) -> Result<(Vm, Duration), String> {
        let started = Instant::now();
        let dir = &config.dir;
        let qmp_path = dir.join("qmp.sock");
        let ctl_path = dir.join("ctl.sock");
        let console = dir.join(format!("console-{boot:02}.log"));
        for p in [&qmp_path, &ctl_path] {
            let _ = std::fs::remove_file(p);
        }
        let mut cmd = match config.arch {
            Arch::Amd64 => {
                let mut c = Command::new("qemu-system-x86_64");
                c.args(["-machine", "q35"]);
                if config.kvm {
                    c.args(["-accel", "kvm", "-cpu", "host"]);
                } else {
                    c.args(["-accel", "tcg,thread=multi", "-cpu", "max"]);
                }
                c
            }
            Arch::Arm64 => {
                let mut c = Command::new("qemu-system-aarch64");
                c.args(["-machine", "virt", "-accel", "tcg", "-cpu", "cortex-a72"]);
                c
            }
        };
        let console_dev = match config.arch {
            Arch::Amd64 => "ttyS0",
            Arch::Arm64 => "ttyAMA0",
        };
        let gpu = format!(
            "virtio-gpu-pci,xres={},yres={}",
            config.width, config.height
        );
        // The guest's user-mode network reaches nothing (restrict=on); the one way in is this
        // forward from the host's loopback to the guest's collector proxy.
        let netdev = format!(
            "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:{}-10.0.2.15:8081",
            config.host_port
        );
        cmd.args(["-nodefaults", "-no-user-config", "-no-reboot"])
            .args(["-m", "512", "-smp", "2"])
            .args(["-display", "none", "-vga", "none"])
            .arg("-kernel")
            .arg(&config.kernel)
            .arg("-initrd")
            .arg(&config.initrd)
            // mitigations=off: under emulation the speculation mitigations cost much (MSR
            // writes at every switch) and protect nothing in this throwaway guest.
            .arg("-append")
            .arg(format!(
                "root=/dev/vda rw console={console_dev} quiet loglevel=4 panic=1 \
                 systemd.show_status=false mitigations=off"
            ))
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=disk,cache=writeback",
                config.disk.display()
            ))
            .args(["-device", "virtio-blk-pci,drive=disk"])
            .args(["-device", &gpu])
            .args(["-netdev", &netdev])
            .args(["-device", "virtio-net-pci,netdev=net,romfile="])
            .args(["-device", "virtio-rng-pci"])
            .arg("-chardev")
            .arg(format!("file,id=console,path={}", console.display()))
            .args(["-serial", "chardev:console"])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", qmp_path.display()))
            .args(["-device", "virtio-serial-pci"])
            .arg("-chardev")
            .arg(format!(
                "socket,id=ctl,path={},server=on,wait=off",
                ctl_path.display()
            ))
            .args(["-device", "virtserialport,chardev=ctl,name=earshot.ctl"]);
        if config.arch == Arch::Amd64 {
            // The receipt scanner: the guest's second serial port (ttyS1), a pty here.
            cmd.args(["-chardev", "pty,id=scanner", "-serial", "chardev:scanner"]);
        }
        let log = std::fs::File::create(dir.join(format!("qemu-{boot:02}.log")))
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let qmp = match Qmp::connect(&qmp_path, &mut child) {
            Ok(q) => q,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{e}\nQEMU said:\n{}",
                    read_lossy(&dir.join(format!("qemu-{boot:02}.log")))
                ));
            }
        };
        let mut vm = Vm {
            child,
            qmp,
            agent: Agent::new(ctl_path),
            scanner: None,
            console,
            dir: dir.clone(),
            dumps: 0,
            boot,
        };
        if config.arch == Arch::Amd64 {
            let pty = vm.scanner_pty()?;
            vm.scanner = Some(open_raw_pty(&pty)?);
        }
        let deadline = started + config.within(Duration::from_secs(90));
        loop {
            if let Some(status) = vm.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!(
                    "QEMU ended ({status}) before the guest's agent answered\n{}",
                    vm.console_tail(40)
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the guest's agent did not answer within {:?} of QEMU starting\n{}",
                    deadline - started,
                    vm.console_tail(40)
                ));
            }
            if vm
                .agent
                .request(json!({"op": "ping"}), Duration::from_millis(500))
                .is_ok()
            {
                break;
            }
        }
        Ok((vm, started.elapsed()))
    }

    fn scanner_pty(&mut self) -> Result<PathBuf, String> {
        let reply = self.qmp.execute("query-chardev", json!({}))?;
        reply
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["label"] == "scanner")
            .and_then(|c| c["filename"].as_str())
            .and_then(|f| f.strip_prefix("pty:"))
            .map(PathBuf::from)
            .ok_or_else(|| format!("QEMU names no pty for the scanner: {reply}"))
    }

    /// Runs a shell command in the guest (as root); its standard output. A non-zero status
    /// is an error carrying both outputs.
    pub fn sh(&mut self, cmd: &str) -> Result<String, String> {
        self.sh_within(cmd, Duration::from_secs(60))
    }

    pub fn sh_within(&mut self, cmd: &str, timeout: Duration) -> Result<String, String> {
        let reply = self
            .agent
            .request(
                json!({"op": "sh", "cmd": cmd, "timeout_s": timeout.as_secs()}),
                timeout + Duration::from_secs(10),
            )
            .map_err(|e| self.lost_agent(cmd, e))?;
        let out = reply["out"].as_str().unwrap_or_default().to_string();
        if reply["rc"] == 0 {
            Ok(out)
        } else {
            Err(format!(
                "`{cmd}` in the guest ended with {}:\n{out}{}",
                reply["rc"],
                reply["err"].as_str().unwrap_or_default()
            ))
        }
    }

    /// Like `sh`, but the status is the caller's to judge: (status, stdout).
    pub fn sh_status(&mut self, cmd: &str) -> Result<(i64, String), String> {
        let reply = self
            .agent
            .request(
                json!({"op": "sh", "cmd": cmd, "timeout_s": 60}),
                Duration::from_secs(70),
            )
            .map_err(|e| self.lost_agent(cmd, e))?;
        Ok((
            reply["rc"].as_i64().unwrap_or(-1),
            reply["out"].as_str().unwrap_or_default().to_string(),
        ))
    }

    /// What is known when the agent did not answer: whether QEMU still runs, whether the
    /// agent answers a ping now, and what the guest's console said.
    fn lost_agent(&mut self, cmd: &str, error: String) -> String {
        let alive = self.alive();
        let ping = self
            .agent
            .request(json!({"op": "ping"}), Duration::from_secs(5))
            .map(|_| "answers a ping now".to_string())
            .unwrap_or_else(|e| format!("does not answer a ping either ({e})"));
        let _ = self
            .screendump()
            .map(|p| p.write_png(&self.dir.join("lost-agent.png")));
        format!(
            "`{cmd}`: {error}; QEMU {}, the agent {ping}\n{}",
            if alive { "still runs" } else { "has ended" },
            self.console_tail(30)
        )
    }

    /// A finger on the guest's touchscreen at (x, y), in screen pixels.
    pub fn tap(&mut self, x: i32, y: i32) -> Result<(), String> {
        self.agent
            .request(
                json!({"op": "tap", "x": x, "y": y}),
                Duration::from_secs(10),
            )
            .map(|_| ())
    }

    /// When the agent first saw a frame of the kiosk's on the screen (CLOCK_MONOTONIC, µs).
    pub fn first_frame_us(&mut self) -> Result<Option<u64>, String> {
        let reply = self
            .agent
            .request(json!({"op": "frame"}), Duration::from_secs(10))?;
        Ok(reply["mono_us"].as_u64())
    }

    pub fn arm_frame_watch(&mut self) -> Result<(), String> {
        self.agent
            .request(json!({"op": "frame_arm"}), Duration::from_secs(10))
            .map(|_| ())
    }

    /// Bytes into the scanner's serial port, as a scanner sends a code.
    pub fn scan(&mut self, code: &str) -> Result<(), String> {
        let port = self
            .scanner
            .as_mut()
            .ok_or("this guest has no scanner port")?;
        port.write_all(format!("{code}\r\n").as_bytes())
            .and_then(|()| port.flush())
            .map_err(|e| format!("cannot write to the scanner's pty: {e}"))
    }

    /// The guest's screen as QEMU shows it.
    pub fn screendump(&mut self) -> Result<Picture, String> {
        self.dumps += 1;
        let path = self.dir.join("screen.ppm");
        let _ = std::fs::remove_file(&path);
        self.qmp
            .execute("screendump", json!({"filename": path.to_string_lossy()}))?;
        let bytes = std::fs::read(&path).map_err(|e| format!("no screen dump: {e}"))?;
        Picture::from_ppm(&bytes)
    }

    pub fn console_tail(&self, lines: usize) -> String {
        let text = read_lossy(&self.console);
        let all: Vec<&str> = text.lines().collect();
        let tail = all[all.len().saturating_sub(lines)..].join("\n");
        format!(
            "-- the guest's console ({}):\n{tail}",
            self.console.display()
        )
    }

    /// Pulls the plug: QEMU is killed outright (SIGKILL), so whatever the guest had in its
    /// memory and not yet written to its disk is gone.
    pub fn power_cut(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Ends the guest as the power cut does; used when the run is over.
    pub fn stop(self) {
        self.power_cut()
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // Only the QEMU this run started, by its own handle.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn open_raw_pty(path: &Path) -> Result<std::fs::File, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot open the scanner's pty {}: {e}", path.display()))?;
    // Raw: the bytes written reach the guest's serial port as they are (no CR/LF mapping).
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(file.as_raw_fd(), &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(file.as_raw_fd(), libc::TCSANOW, &t);
        }
    }
    Ok(file)
}

/// QEMU's machine protocol on a unix socket: one JSON object a line.
struct Qmp {
    stream: UnixStream,
    buffer: Vec<u8>,
}

impl Qmp {
    fn connect(path: &Path, child: &mut Child) -> Result<Qmp, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(format!("QEMU ended at once ({status})"));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(format!("cannot reach QEMU's QMP socket: {e}")),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let mut qmp = Qmp {
            stream,
            buffer: Vec::new(),
        };
        let greeting = qmp.read_message()?;
        if greeting.get("QMP").is_none() {
            return Err(format!("not a QMP greeting: {greeting}"));
        }
        qmp.execute("qmp_capabilities", json!({}))?;
        Ok(qmp)
    }

    fn read_message(&mut self) -> Result<Value, String> {
        loop {
            if let Some(n) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=n).collect();
                return serde_json::from_slice(&line)
                    .map_err(|e| format!("QMP sent something that is not JSON ({e})"));
            }
            let mut chunk = [0u8; 65536];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("QMP: {e}"))?;
            if n == 0 {
                return Err("QMP: QEMU closed the connection".into());
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    fn execute(&mut self, command: &str, arguments: Value) -> Result<Value, String> {
        let message = json!({"execute": command, "arguments": arguments});
        self.stream
            .write_all(format!("{message}\n").as_bytes())
            .map_err(|e| format!("QMP: {e}"))?;
        loop {
            let reply = self.read_message()?;
            if let Some(r) = reply.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = reply.get("error") {
                return Err(format!("QMP {command}: {e}"));
            }
            // An asynchronous event: not the answer.
        }
    }
}

/// The agent in the guest (scripts/vm/guest/earshot-vm-agent), over QEMU's socket for the
/// virtio-serial port. Connected lazily and again after a failure.
struct Agent {
    path: PathBuf,
    stream: Option<UnixStream>,
    buffer: Vec<u8>,
    next_id: u64,
}

impl Agent {
    fn new(path: PathBuf) -> Agent {
        Agent {
            path,
            stream: None,
            buffer: Vec::new(),
            next_id: 1,
        }
    }

    fn request(&mut self, mut request: Value, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        if self.stream.is_none() {
            let s = UnixStream::connect(&self.path)
                .map_err(|e| format!("cannot reach the agent's socket: {e}"))?;
            self.stream = Some(s);
            self.buffer.clear();
        }
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = id.into();
        let stream = self.stream.as_mut().expect("connected above");
        if let Err(e) = stream.write_all(format!("{request}\n").as_bytes()) {
            self.stream = None;
            return Err(format!("the agent's socket: {e}"));
        }
        loop {
            while let Some(n) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=n).collect();
                let Ok(reply) = serde_json::from_slice::<Value>(&line) else {
                    continue;
                };
                if reply["id"] != id {
                    continue; // the answer to an earlier request that timed out
                }
                if let Some(e) = reply.get("error") {
                    return Err(format!("the agent could not {}: {e}", request["op"]));
                }
                return Ok(reply);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "the agent did not answer {} within {timeout:?}",
                    request["op"]
                ));
            }
            let stream = self.stream.as_mut().expect("connected");
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(|e| e.to_string())?;
            let mut chunk = [0u8; 65536];
            match stream.read(&mut chunk) {
                Ok(0) => {
                    self.stream = None;
                    return Err("the agent's socket was closed".into());
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => {
                    self.stream = None;
                    return Err(format!("the agent's socket: {e}"));
                }
            }
        }
    }
}
