//! A full plugin that also imports an interface the host does not
//! offer: the host must refuse it at load, naming the import.

wit_bindgen::generate!({
    path: "../../../wit/v0.1",
    inline: "
        package fault:stranger@0.1.0;
        interface net {
            connect: func(host: string) -> u32;
        }
        world stranger {
            include bgplet:plugin/full-plugin@0.1.0;
            import net;
        }
    ",
    world: "fault:stranger/stranger",
    generate_all,
});

#[path = "../../switch/src/behave.rs"]
mod behave;

use bgplet::plugin::types::{FilterResult, Peer};
use exports::bgplet::plugin::{
    export_policy, import_policy, kernel, lifecycle, selection,
};

struct Stranger;

impl lifecycle::Guest for Stranger {
    fn describe() -> lifecycle::Info {
        behave::describe("stranger")
    }
    fn init(config: String) -> Result<(), String> {
        // Phones home: the import is really used, so it stays in the
        // component's type.
        fault::stranger::net::connect("198.51.100.1");
        behave::init(config)
    }
}

impl import_policy::Guest for Stranger {
    fn filter(from: Peer, attrs: Vec<u32>, routes: Vec<u32>) -> FilterResult {
        behave::filter(from, attrs, routes)
    }
}

impl export_policy::Guest for Stranger {
    fn filter(to: Peer, attrs: Vec<u32>, routes: Vec<u32>) -> FilterResult {
        behave::filter(to, attrs, routes)
    }
}

impl selection::Guest for Stranger {
    fn select(candidates: Vec<u32>, counts: Vec<u32>) -> Vec<u32> {
        behave::select(candidates, counts)
    }
}

impl kernel::Guest for Stranger {
    fn program(attrs: Vec<u32>, routes: Vec<u32>) -> Vec<u32> {
        behave::program(attrs, routes)
    }
}

export!(Stranger);
