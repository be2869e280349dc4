//! `cargo run` at the workspace root: the workshop's front door.
//!
//! With no command it builds the book, prints the outline, your progress and
//! the one next step, and serves a home page on http://127.0.0.1:4000 with
//! the book, your progress, and the finished chat (the newest solution, on
//! the in-memory store). It needs nothing but the Rust toolchain.

use clap::{Parser, Subcommand};
use classroom::control::Control;
use polling_workshop::{
    class, home,
    paint::Paint,
    watch,
    workshop::{Workshop, report},
};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "workshop",
    about = "The Real-Time Polling Workshop",
    long_about = "The Real-Time Polling Workshop.\n\n`cargo run` starts the home page (the book, your progress, the finished chat); \
                  `cargo run -- <command>` does the rest. N is an exercise's number (1, 2, ...); without it, the \
                  current exercise: the first one not done yet."
)]
struct Cli {
    /// The port to serve on: the home page's (4000); with `join`, your page's (3000); with `classroom`, the class server's (4100).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// The workshop's folder (by default, the one this program was built from).
    #[arg(long, hide = true, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Show every exercise and how far you are.
    List,
    /// Run an exercise's spec once, and record the result.
    Check { number: Option<u32> },
    /// Check an exercise each time you save one of its files.
    Watch {
        number: Option<u32>,
        /// Check each time you press Enter, instead of on save (for file systems where watching fails).
        #[arg(long)]
        manual: bool,
    },
    /// Show the next hint for an exercise, one more each time.
    Hint { number: Option<u32> },
    /// Run your version of an exercise's app, to try it in a browser.
    Serve {
        number: Option<u32>,
        /// Join a class instead: your page, its API going to the class server at this URL.
        #[arg(long, requires = "name")]
        join: Option<String>,
        /// Your name on the class's dashboard (with --join).
        #[arg(long)]
        name: Option<String>,
    },
    /// Join a class: serve your page and client on this machine, its API going to the class server.
    Join {
        /// The class server's address, as your instructor gives it: http://192.168.1.20:4100 (by default, the last one you joined)
        url: Option<String>,
        /// Your name on the class's dashboard (by default, the last one you joined with).
        #[arg(long)]
        name: Option<String>,
        /// The exercise whose page to serve (by default, the one the instructor set for the room, else your current one).
        #[arg(long)]
        exercise: Option<u32>,
        /// Serve the finished exercise's page instead of yours (for a demonstration).
        #[arg(long)]
        finished: bool,
        /// For the instructors' moment 3: a backoff that waits exactly what Retry-After says (a known wrong one).
        #[arg(long)]
        exact_retry_after: bool,
    },
    /// For the instructor: run the class server for the room, with its dashboard.
    Classroom {
        /// Where to listen: an address, and a port (4100 if left out); the room needs every address (0.0.0.0).
        #[arg(long, default_value = "0.0.0.0:4100")]
        bind: String,
        /// Keep the chat in the Redis at this URL (by default, in memory).
        #[arg(long)]
        redis: Option<String>,
        /// The instructor's key (by default, a new random one); give the one an earlier run printed to keep it.
        #[arg(long)]
        key: Option<String>,
    },
    /// For the instructor: change how the class server treats the whole room.
    Control {
        #[command(subcommand)]
        what: ControlCommand,
        /// The class server (by default, the one `classroom` started on this machine).
        #[arg(long, global = true)]
        url: Option<String>,
        /// The instructor's key (by default, that server's).
        #[arg(long, global = true)]
        key: Option<String>,
    },
    /// While joined: tell the instructor you are stuck, or done (shown on the dashboard until cleared).
    Signal {
        #[arg(value_parser = ["stuck", "done"])]
        what: String,
    },
    /// Put an exercise back as it was when you started (asks first).
    Reset {
        number: u32,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
    /// Show how your files differ from the solution (asks first).
    Solution {
        number: u32,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

/// What `control` can do.
#[derive(Subcommand)]
enum ControlCommand {
    /// Answer as exercise 07's server does.
    Normal,
    /// Make every answer N seconds late.
    Slow { seconds: u64 },
    /// Answer 503 with Retry-After, or with --close, close every connection unanswered.
    Down {
        #[arg(long)]
        close: bool,
    },
    /// Answer a share of the requests (in percent) with 500.
    Flaky { percent: u8 },
    /// Let each learner one request in every 5 s; the rest get 429 with Retry-After.
    Tight,
    /// Restart the chat: every held request broken; in memory, a new chat with a new epoch (on Redis, the chat stays).
    Restart,
    /// Tell every client to wait the same time (same), or each its own (spread).
    RetryAfter {
        #[arg(value_parser = ["same", "spread"])]
        how: String,
    },
    /// Post a message to the chat as the instructor.
    Post { text: String },
    /// Set the exercise the room is on: `join` without --exercise serves it.
    Exercise { number: u32 },
    /// Forget every flag raised so far (before a moment).
    ClearFlags,
    /// Clear a learner's "stuck" or "done".
    ClearSignal { name: String },
    /// Take a learner who has left off the dashboard.
    Remove { name: String },
}

impl ControlCommand {
    fn control(self) -> Control {
        match self {
            ControlCommand::Normal => Control::Normal,
            ControlCommand::Slow { seconds } => Control::Slow { seconds },
            ControlCommand::Down { close } => Control::Down { close },
            ControlCommand::Flaky { percent } => Control::Flaky { percent },
            ControlCommand::Tight => Control::Tight,
            ControlCommand::Restart => Control::Restart,
            ControlCommand::RetryAfter { how } => Control::RetryAfter { spread: how == "spread" },
            ControlCommand::Post { text } => Control::Post { text },
            ControlCommand::Exercise { number } => Control::Exercise { number },
            ControlCommand::ClearFlags => Control::ClearFlags,
            ControlCommand::ClearSignal { name } => Control::ClearSignal { name },
            ControlCommand::Remove { name } => Control::Remove { name },
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let paint = Paint::for_stdout();
    let root = cli.root.clone().unwrap_or_else(|| polling_workshop::course::root().to_owned());
    if let Err(problem) = run(cli, &root, paint) {
        eprintln!("{} {problem}", Paint::plain().bold("error:"));
        std::process::exit(1);
    }
}

/// Ask a yes-or-no question; anything but "y" or "yes" (or no input) is no.
fn confirm(question: &str) -> bool {
    print!("{question} [y/N] ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

fn run(cli: Cli, root: &std::path::Path, paint: Paint) -> Result<(), String> {
    let mut workshop = Workshop::open(root)?;
    match cli.command {
        None => home(&workshop, cli.port.unwrap_or(4000), paint),
        Some(Command::List) => {
            print!("{}\n{}", workshop.list(paint), workshop.next_step(paint));
            if let Some(number) = class::room_exercise(root) {
                println!("  In class, the room is on {number:02}: `cargo run -- watch` checks it.");
            }
            Ok(())
        }
        Some(Command::Check { number }) => {
            let number = number.or_else(|| class::room_exercise(root));
            let exercise = workshop.exercise(number)?.clone();
            println!(
                "{} {:02} {} ({})",
                paint.bold("Checking"),
                exercise.number,
                exercise.title,
                exercise.test_command()
            );
            let check = workshop.check(number, &mut std::io::stdout())?;
            let reporting = class::report_check(root, &check);
            workshop.record(&check)?;
            println!("\n{}", report(&check.checked, &exercise, paint));
            if check.passed() {
                print!("\n{}", workshop.next_step(paint));
            }
            reporting.finish();
            Ok(())
        }
        Some(Command::Watch { number, manual }) => {
            let number = number.or_else(|| class::room_exercise(root));
            watch::watch(&mut workshop, number, manual, paint)
        }
        Some(Command::Hint { number }) => {
            let number = number.or_else(|| class::room_exercise(root));
            let exercise = workshop.exercise(number)?.clone();
            let (which, total, hint) = workshop.next_hint(number)?;
            class::report_hint(root, exercise.number, which).finish();
            println!(
                "{} {which} of {total} for {:02} {}:\n\n  {hint}\n",
                paint.bold("Hint"),
                exercise.number,
                exercise.title
            );
            if which == total {
                println!("That is the last hint. `cargo run -- solution {}` shows the solution.", exercise.number);
            } else {
                println!("`cargo run -- hint {}` again for the next one.", exercise.number);
            }
            Ok(())
        }
        Some(Command::Serve { number, join: Some(url), name }) => {
            let name = name.expect("clap requires --name with --join");
            let which = class::Which { exercise: number, finished: false, exact_retry_after: false };
            class::join(&workshop, which, &url, &name, cli.port.unwrap_or(chat_page::DEFAULT_PORT), paint)
        }
        Some(Command::Join { url, name, exercise, finished, exact_retry_after }) => {
            let which = class::Which { exercise, finished, exact_retry_after };
            let (url, name) = class::remembered(root, url, name)?;
            class::join(&workshop, which, &url, &name, cli.port.unwrap_or(chat_page::DEFAULT_PORT), paint)
        }
        Some(Command::Signal { what }) => {
            let said = class::signal(root, &what)?;
            println!("{} {said}", paint.green("✓"));
            Ok(())
        }
        Some(Command::Classroom { bind, redis, key }) => {
            // `--port` keeps the address of --bind and changes its port.
            let bind = class::with_port(&bind);
            let bind = match cli.port {
                Some(port) => format!("{}:{port}", bind.rsplit_once(':').map_or(bind.as_str(), |(host, _)| host)),
                None => bind,
            };
            class::classroom(root, &bind, redis, key, paint)
        }
        Some(Command::Control { .. }) if cli.port.is_some() => {
            Err("`control` talks to a class server: say which with --url, not --port".to_owned())
        }
        Some(Command::Control { what, url, key }) => {
            if let ControlCommand::Exercise { number } = what {
                workshop.exercise(Some(number))?; // the course has it
            }
            let said = class::control(root, what.control(), url, key)?;
            println!("{} {said}", paint.green("✓"));
            Ok(())
        }
        Some(Command::Serve { number, .. }) => {
            let exercise = workshop.exercise(number)?.clone();
            println!(
                "Serving your {:02} {} with `cargo run -p {}` (set PORT to change its port; Ctrl-C stops it).",
                exercise.number, exercise.title, exercise.starter
            );
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = std::process::Command::new(cargo)
                .args(["run", "-p", &exercise.starter])
                .current_dir(workshop.root())
                .status()
                .map_err(|error| format!("could not run cargo: {error}"))?;
            if !status.success() {
                println!("It stopped. If it did not compile, the first error above says where.");
            }
            Ok(())
        }
        Some(Command::Reset { number, yes }) => {
            let exercise = workshop.exercise(Some(number))?.clone();
            let question = format!(
                "This throws away your changes in {} and puts the starter back as last committed. Reset {:02} {}?",
                exercise.starter_dir().display(),
                exercise.number,
                exercise.title
            );
            if !yes && !confirm(&question) {
                println!("Nothing changed.");
                return Ok(());
            }
            workshop.reset(number)?;
            println!("{} {} is the starter again.", paint.green("✓"), exercise.starter_dir().display());
            Ok(())
        }
        Some(Command::Solution { number, yes }) => {
            let exercise = workshop.exercise(Some(number))?.clone();
            let question = format!(
                "This shows the finished code for {:02} {}. Have you tried the hints (`cargo run -- hint {number}`)? Show it?",
                exercise.number, exercise.title
            );
            if !yes && !confirm(&question) {
                println!("Nothing shown.");
                return Ok(());
            }
            println!("How your files differ from the solution (- yours, + the solution):\n");
            print!("{}", workshop.solution_diff(number, paint)?);
            Ok(())
        }
    }
}

/// The home: outline, progress, next step, and the home page.
fn home(workshop: &Workshop, port: u16, paint: Paint) -> Result<(), String> {
    println!("{}\n", paint.bold("The Real-Time Polling Workshop"));
    print!("{}\n{}", workshop.list(paint), workshop.next_step(paint));
    let book = workshop.root().join("target/workshop-book");
    print!("\nBuilding the book… ");
    let _ = std::io::stdout().flush();
    let started = std::time::Instant::now();
    home::build_book(workshop.root(), &book)?;
    println!("done in {:.1} s.", started.elapsed().as_secs_f64());

    let (chat, stop_chat) = home::finished_chat();
    let app = home::router(workshop.root().to_owned(), book, chat);
    let runtime = tokio::runtime::Runtime::new().map_err(|error| format!("cannot start the server: {error}"))?;
    runtime.block_on(async move {
        let listener =
            chat_page::listen(port, "is the workshop already running? Try `cargo run -- --port 4001`").await?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        println!(
            "\n{} http://{address}/  (the book: /book/, the finished chat: /chat; Ctrl-C stops it)",
            paint.bold("Open")
        );
        if !std::io::stdout().is_terminal() {
            let _ = std::io::stdout().flush();
        }
        // Stopping answers the chat's held requests, or shutting down would wait for them.
        chat_page::run(listener, app, stop_chat).await
    })
}
