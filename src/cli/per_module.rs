//! The flags every module of the binary's list brings: where to reach it when it is not
//! local (`--orders-url`), where it keeps its data on PostgreSQL
//! (`--orders-database-url`), and flags of its own (`--payment-limit-cents`). They come
//! from the list, so a new module has its flags with no change here.

use std::collections::BTreeMap;

use clap::{Arg, ArgMatches, Args, Command, FromArgMatches};
use runtime::db::DatabaseUrl;

use crate::modules::MODULES;

fn url_id(module: &str) -> String {
    format!("{module}-url")
}

fn database_url_id(module: &str) -> String {
    format!("{module}-database-url")
}

fn variable(id: &str) -> String {
    format!("CLEAVE_{}", id.replace('-', "_").to_uppercase())
}

/// Where each module is reached when it runs in another process.
#[derive(Debug, Clone, Default)]
pub struct PeerUrls(BTreeMap<&'static str, String>);

impl PeerUrls {
    /// The base URL of `module`.
    pub fn of(&self, module: &str) -> &str {
        self.0
            .get(module)
            .map(String::as_str)
            .expect("every module has a URL flag")
    }
}

impl Args for PeerUrls {
    fn augment_args(command: Command) -> Command {
        command.args(MODULES.iter().enumerate().map(|(i, module)| {
            let id = url_id(module.name);
            let help = if i == 0 {
                format!(
                    "Base URL of the {} module, when it is not local. Calls are spread over \
                     every address its host name resolves to (the replicas of a headless \
                     service); several comma-separated URLs that differ only in host and port \
                     add up their addresses",
                    module.name
                )
            } else {
                format!(
                    "Base URL of the {} module, when it is not local; as --{}",
                    module.name,
                    url_id(MODULES[0].name)
                )
            };
            Arg::new(id.clone())
                .long(id.clone())
                .env(variable(&id))
                .help_heading("Peers")
                .value_name("URL")
                .default_value(format!("http://{}:8080", module.name))
                .value_parser(peer_urls)
                .help(help)
        }))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

/// A peer's URLs, comma-separated: each must be http or https, with a host. Refused here,
/// at start, rather than as a 503 on every call to the peer.
fn peer_urls(text: &str) -> Result<String, String> {
    for url in text.split(',').map(str::trim) {
        let parsed = reqwest::Url::parse(url)
            .map_err(|err| format!("`{url}` is not a URL ({err}); expected http://host:port"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none_or(str::is_empty)
        {
            return Err(format!(
                "`{url}` is not an http(s) URL with a host; expected http://host:port"
            ));
        }
    }
    Ok(text.to_owned())
}

impl FromArgMatches for PeerUrls {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut urls = BTreeMap::new();
        for module in MODULES {
            if let Some(url) = matches.get_one::<String>(&url_id(module.name)) {
                urls.insert(module.name, url.clone());
            }
        }
        Ok(Self(urls))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The PostgreSQL database of each module that has one of its own.
#[derive(Debug, Clone, Default)]
pub struct DatabaseUrls(BTreeMap<&'static str, DatabaseUrl>);

impl DatabaseUrls {
    /// The database of `module`, if it has one of its own.
    pub fn of(&self, module: &str) -> Option<&DatabaseUrl> {
        self.0.get(module)
    }
}

impl Args for DatabaseUrls {
    fn augment_args(command: Command) -> Command {
        command.args(MODULES.iter().map(|module| {
            let id = database_url_id(module.name);
            Arg::new(id.clone())
                .long(id.clone())
                .env(variable(&id))
                .hide_env_values(true)
                .help_heading("Storage")
                .value_name("URL")
                .value_parser(|text: &str| text.parse::<DatabaseUrl>())
                .help(format!(
                    "PostgreSQL database of the {} module, instead of --database-url",
                    module.name
                ))
        }))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for DatabaseUrls {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut urls = BTreeMap::new();
        for module in MODULES {
            if let Some(url) = matches.get_one::<DatabaseUrl>(&database_url_id(module.name)) {
                urls.insert(module.name, url.clone());
            }
        }
        Ok(Self(urls))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The modules' own flags, as parsed: each module reads its own when it opens.
#[derive(Clone)]
pub struct ModuleFlags(ArgMatches);

/// The matches hold every flag of the command line, secrets among them: none is shown.
impl std::fmt::Debug for ModuleFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleFlags").finish_non_exhaustive()
    }
}

impl ModuleFlags {
    pub fn matches(&self) -> &ArgMatches {
        &self.0
    }
}

impl Args for ModuleFlags {
    fn augment_args(command: Command) -> Command {
        command.args(
            MODULES
                .iter()
                .flat_map(|module| (module.flags)())
                .map(|flag| flag.help_heading("Modules")),
        )
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for ModuleFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Self(matches.clone()))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}
