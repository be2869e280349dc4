//! `cargo run` at the workspace root: the workshop's front door.
//!
//! It prints the course outline and the next step, then serves the finished
//! chat (the newest solution: exercise 04's client on exercise 01's server) on http://127.0.0.1:3000 with the in-memory
//! store, so there is something live to try from the first minute. It needs
//! nothing but the Rust toolchain: no Redis, no Node, no browser driver.

use polling_workshop::course::Course;

fn outline(course: &Course) -> String {
    let mut text = String::from("The Real-Time Polling Workshop\n\n");
    for exercise in &course.exercises {
        text.push_str(&format!(
            "  {:02}  {:<28} {:>3} min   book/src/{}\n",
            exercise.number, exercise.title, exercise.minutes, exercise.chapter
        ));
    }
    text.push_str(&format!(
        "\n  {} exercises, about {} minutes in class.\n",
        course.exercises.len(),
        course.total_minutes()
    ));
    if let Some(first) = course.exercises.first() {
        text.push_str(&format!(
            "\nNext step: read the chapter \"{:02} {}\" (book/src/{}), open {}/{}\n\
             and run `{}` until it passes. The README says how to read the book.\n",
            first.number,
            first.title,
            first.chapter,
            first.starter_dir().display(),
            first.start_in,
            first.test_command()
        ));
    }
    text
}

#[tokio::main]
async fn main() {
    let course = Course::embedded();
    println!("{}", outline(&course));
    let app = newest_solution::app();
    if let Err(problem) = chat_page::serve("The finished chat (in-memory store)", app).await {
        eprintln!("error: {problem}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_lists_every_exercise_and_the_next_step() {
        let course = Course::embedded();
        let text = outline(&course);
        for exercise in &course.exercises {
            assert!(text.contains(&exercise.title), "{text}");
        }
        assert!(
            text.contains("Next step: read the chapter \"01 The poll endpoint\""),
            "{text}"
        );
        assert!(text.contains("cargo test -p ex01-poll-endpoint`"), "{text}");
    }
}
