//! A plugin built for the narrower `import-plugin` world: it exports
//! the lifecycle and the import hook only, so it is not a
//! `full-plugin` and the host must reject it naming what is missing.

wit_bindgen::generate!({ path: "../../../wit/v0.1", world: "import-plugin" });

use bgplet::plugin::types::{FilterResult, Peer};
use exports::bgplet::plugin::import_policy::Guest as Import;
use exports::bgplet::plugin::lifecycle::{Guest as Lifecycle, Hook, Info};

struct Half;

impl Lifecycle for Half {
    fn describe() -> Info {
        Info {
            name: "half".into(),
            version: "0.1.0".into(),
            description: "import hook only".into(),
            hooks: vec![Hook::Import],
        }
    }
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }
}

impl Import for Half {
    fn filter(_from: Peer, _attrs: Vec<u32>, routes: Vec<u32>) -> FilterResult {
        FilterResult {
            verdicts: vec![1; routes.len() / 7],
            edits: Vec::new(),
        }
    }
}

export!(Half);
