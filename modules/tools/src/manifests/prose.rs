//! What the files' comments say about the modules, drawn from the list, and the wrapping
//! of it into YAML comments.

use runtime::module::Module;

/// Comment lines are wrapped to this many columns, like the hand-written files beside them.
const WIDTH: usize = 90;

/// `text` as YAML comment lines of at most [`WIDTH`] columns (a longer word has a line of
/// its own), each starting with `indent`; a blank line in `text` separates paragraphs.
pub(super) fn comment(indent: &str, text: &str) -> String {
    let prefix = format!("{indent}#");
    text.split("\n\n")
        .map(|paragraph| {
            let mut lines = String::new();
            let mut line = prefix.clone();
            for word in paragraph.split_whitespace() {
                let full = line.chars().count() + 1 + word.chars().count() > WIDTH;
                if full && line != prefix {
                    lines.push_str(&line);
                    lines.push('\n');
                    line.clone_from(&prefix);
                }
                line.push(' ');
                line.push_str(word);
            }
            lines + &line + "\n"
        })
        .collect::<Vec<_>>()
        .join(&format!("{prefix}\n"))
}

/// What each generated file says of itself, with `command`, which regenerates it.
pub(super) fn generated_by(command: &str) -> String {
    let why = "Generated from the binary's list of modules by the command below: change the \
               list or the generator (modules/tools/src/manifests), not this file.";
    format!("{}#\n#   {command}\n", comment("", why))
}

/// The names of `modules`, in their order.
pub(super) fn names<'a>(modules: &[&'a Module]) -> Vec<&'a str> {
    modules.iter().map(|m| m.name).collect()
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// What `module` does and how it takes part in the work of the others in `modules`: the
/// modules it calls, the events it publishes (and to whom) and those it consumes.
pub(super) fn describe(module: &Module, modules: &[&Module]) -> String {
    let mut text = format!("The {} module: {}.", module.name, module.about);
    if !module.calls.is_empty() {
        text += &format!(" It calls {}.", and_list(module.calls));
    }
    let published: Vec<String> = module
        .publishes
        .iter()
        .map(|topic| {
            let consumers: Vec<&str> = modules
                .iter()
                .filter(|m| m.consumes.contains(topic))
                .map(|m| m.name)
                .collect();
            match consumers.as_slice() {
                [] => format!("{topic} (which no module consumes)"),
                to => format!("{topic} (to {})", and_list(to)),
            }
        })
        .collect();
    let consumed: Vec<String> = modules
        .iter()
        .filter_map(|producer| {
            let topics = producer.topics_for(module);
            (!topics.is_empty()).then(|| format!("{} from {}", and_list(&topics), producer.name))
        })
        .collect();
    text += &match (published.is_empty(), consumed.is_empty()) {
        (true, true) => " It takes part in no event.".to_owned(),
        (false, true) => format!(" It publishes {}.", and_list(&published)),
        (true, false) => format!(" It consumes {}.", and_list(&consumed)),
        (false, false) => format!(
            " It publishes {}, and consumes {}.",
            and_list(&published),
            and_list(&consumed)
        ),
    };
    text
}

/// What `module` does with the internal token, which every module of a split holds.
pub(super) fn token_use(module: &Module) -> &'static str {
    match (module.publishes.is_empty(), module.consumes.is_empty()) {
        (false, false) => {
            "Over the http event bus it delivers its events to their consumers' internal \
             routes and receives the others' on its own, both with the internal token."
        }
        (false, true) => {
            "Over the http event bus it delivers its events to their consumers' internal \
             routes, with the internal token."
        }
        (true, false) => {
            "Over the http event bus it receives them on its internal route, which asks \
             for the internal token."
        }
        (true, true) => {
            "It gets the modules' internal token all the same, so that an internal route it \
             ever serves is closed from the start."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{and_list, comment};

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(and_list::<&str>(&[]), "");
        assert_eq!(and_list(&["red"]), "red");
        assert_eq!(and_list(&["red", "green"]), "red and green");
        assert_eq!(and_list(&["red", "green", "blue"]), "red, green and blue");
    }

    #[test]
    fn comments_wrap_at_the_width_and_keep_paragraphs() {
        let text = format!("{} end\n\nnext", "word ".repeat(30));
        let lines: Vec<String> = comment("  ", &text).lines().map(str::to_owned).collect();
        assert!(
            lines.iter().all(|l| l.chars().count() <= super::WIDTH),
            "{lines:?}"
        );
        assert!(
            lines.iter().all(|l| l.starts_with("  # ") || l == "  #"),
            "{lines:?}"
        );
        assert_eq!(lines[lines.len() - 2], "  #");
        assert_eq!(lines[lines.len() - 1], "  # next");
        let words: usize = lines.iter().map(|l| l.split_whitespace().count() - 1).sum();
        assert_eq!(words, 32);
    }

    #[test]
    fn a_word_longer_than_a_line_has_a_line_of_its_own() {
        let long = "x".repeat(100);
        assert_eq!(
            comment("", &format!("a {long} b")),
            format!("# a\n# {long}\n# b\n")
        );
    }
}
