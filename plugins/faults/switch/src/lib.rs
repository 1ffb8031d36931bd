//! A plugin whose fault is chosen by its config (see behave.rs).

wit_bindgen::generate!({ path: "../../../wit/v0.1", world: "full-plugin" });

mod behave;

use bgplet::plugin::types::{FilterResult, Peer};
use exports::bgplet::plugin::{
    export_policy, import_policy, kernel, lifecycle, selection,
};

struct Switch;

impl lifecycle::Guest for Switch {
    fn describe() -> lifecycle::Info {
        behave::describe("switch")
    }
    fn init(config: String) -> Result<(), String> {
        behave::init(config)
    }
}

impl import_policy::Guest for Switch {
    fn filter(from: Peer, attrs: Vec<u32>, routes: Vec<u32>) -> FilterResult {
        behave::filter(from, attrs, routes)
    }
}

impl export_policy::Guest for Switch {
    fn filter(to: Peer, attrs: Vec<u32>, routes: Vec<u32>) -> FilterResult {
        behave::filter(to, attrs, routes)
    }
}

impl selection::Guest for Switch {
    fn select(candidates: Vec<u32>, counts: Vec<u32>) -> Vec<u32> {
        behave::select(candidates, counts)
    }
}

impl kernel::Guest for Switch {
    fn program(attrs: Vec<u32>, routes: Vec<u32>) -> Vec<u32> {
        behave::program(attrs, routes)
    }
}

export!(Switch);
