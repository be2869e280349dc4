//! `cargo run` at the workspace root: the workshop's front door.
//!
//! With no command it builds the book, prints the outline, your progress and
//! the one next step, and serves a home page on http://127.0.0.1:4000 with
//! the book, your progress, and the finished chat (the newest solution, on
//! the in-memory store). It needs nothing but the Rust toolchain.

use clap::{Parser, Subcommand};
use polling_workshop::{
    home,
    paint::Paint,
    watch,
    workshop::{Checked, Workshop, report},
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
    /// The home page's port.
    #[arg(long, default_value_t = 4000, global = true)]
    port: u16,
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
    Serve { number: Option<u32> },
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
        None => home(&workshop, cli.port, paint),
        Some(Command::List) => {
            print!("{}\n{}", workshop.list(paint), workshop.next_step(paint));
            Ok(())
        }
        Some(Command::Check { number }) => {
            let exercise = workshop.exercise(number)?.clone();
            println!(
                "{} {:02} {} ({})",
                paint.bold("Checking"),
                exercise.number,
                exercise.title,
                exercise.test_command()
            );
            let checked = workshop.check(number, &mut std::io::stdout())?;
            println!("\n{}", report(&checked, &exercise, paint));
            if checked == Checked::Passed {
                print!("\n{}", workshop.next_step(paint));
            }
            Ok(())
        }
        Some(Command::Watch { number, manual }) => watch::watch(&mut workshop, number, manual, paint),
        Some(Command::Hint { number }) => {
            let exercise = workshop.exercise(number)?.clone();
            let (which, total, hint) = workshop.next_hint(number)?;
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
        Some(Command::Serve { number }) => {
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
