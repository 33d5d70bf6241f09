//! Which package of a lockfile depends on which, for the formats that record
//! it: the nodes are the file's packages (by name and version), the roots
//! the project's own entries (Cargo workspace members and path crates, the
//! npm project and its workspaces), the edges each entry's dependencies.
//! A file that says a package is indirect without saying through what
//! (go.mod's `// indirect`) marks the node instead of drawing edges.
//! [`Paths`] gives every package whether a root depends on it directly, and
//! one shortest chain from a root to it.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// The most edges a graph keeps; a file with more keeps none (its packages
/// are still reported, without paths).
const MAX_EDGES: usize = 4_000_000;

/// A lockfile's dependency graph.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyGraph {
    /// (name, version) of each node, as the file's packages give them.
    pub nodes: Vec<(String, String)>,
    /// The project's own entries: paths start there.
    pub roots: Vec<usize>,
    /// (from, to) by node index.
    pub edges: Vec<(usize, usize)>,
    /// Nodes the file marks as reached only through other packages, by a
    /// chain it does not record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indirect: Vec<usize>,
}

/// Builds a [`DependencyGraph`], one node per (name, version).
#[derive(Debug, Default)]
pub(crate) struct GraphBuilder {
    graph: DependencyGraph,
    index: HashMap<(String, String), usize>,
    too_large: bool,
}

impl GraphBuilder {
    /// The node of (name, version), added if new.
    /// Names and versions are trimmed, as the packages reported are.
    pub(crate) fn node(&mut self, name: &str, version: &str) -> usize {
        let key = (name.trim().to_string(), version.trim().to_string());
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.graph.nodes.len();
        self.graph.nodes.push(key.clone());
        self.index.insert(key, i);
        i
    }

    pub(crate) fn root(&mut self, node: usize) {
        if !self.graph.roots.contains(&node) {
            self.graph.roots.push(node);
        }
    }

    /// Marks a node as indirect: a root needs it through packages the file
    /// does not name.
    pub(crate) fn indirect(&mut self, node: usize) {
        if !self.graph.indirect.contains(&node) {
            self.graph.indirect.push(node);
        }
    }

    pub(crate) fn edge(&mut self, from: usize, to: usize) {
        if from == to {
            return;
        }
        if self.graph.edges.len() >= MAX_EDGES {
            self.too_large = true;
            return;
        }
        self.graph.edges.push((from, to));
    }

    /// The graph, or `None` when it has no root, or neither edges nor
    /// indirect marks (nothing to say), or grew past its cap.
    pub(crate) fn finish(mut self) -> Option<DependencyGraph> {
        let says_nothing = self.graph.edges.is_empty() && self.graph.indirect.is_empty();
        if self.too_large || self.graph.roots.is_empty() || says_nothing {
            return None;
        }
        self.graph.edges.sort_unstable();
        self.graph.edges.dedup();
        Some(self.graph)
    }
}

/// Builds the graph of a format whose dependencies name a package without a
/// version (Gemfile.lock, poetry.lock, composer.lock): a dependency leads to
/// every version of the package of that name, or, when none has it, to the
/// packages that say they provide or replace it.
#[derive(Debug, Default)]
pub(crate) struct ByName {
    builder: GraphBuilder,
    /// The nodes of each name, as the caller keys them (normalised).
    named: HashMap<String, Vec<usize>>,
    /// The nodes that provide or replace each name.
    provided: HashMap<String, Vec<usize>>,
    /// (from, the name it depends on), resolved when every package is known.
    dependencies: Vec<(usize, String)>,
}

impl ByName {
    /// Adds a package known by `key`, reported as `name` `version`.
    pub(crate) fn package(&mut self, key: String, name: &str, version: &str) -> usize {
        let node = self.builder.node(name, version);
        let nodes = self.named.entry(key).or_default();
        if !nodes.contains(&node) {
            nodes.push(node);
        }
        node
    }

    /// Adds a root: the project, by the name its manifest gives it.
    pub(crate) fn project(&mut self, name: &str) -> usize {
        let node = self.builder.node(name, "");
        self.builder.root(node);
        node
    }

    /// Says that `node` also answers to `key` (Composer's `provide` and `replace`).
    pub(crate) fn provides(&mut self, node: usize, key: String) {
        self.provided.entry(key).or_default().push(node);
    }

    /// Says that `from` depends on the package known by `key`.
    pub(crate) fn depends(&mut self, from: usize, key: String) {
        self.dependencies.push((from, key));
    }

    pub(crate) fn finish(mut self) -> Option<DependencyGraph> {
        for (from, key) in std::mem::take(&mut self.dependencies) {
            let targets = self.named.get(&key).or_else(|| self.provided.get(&key));
            for &to in targets.into_iter().flatten() {
                self.builder.edge(from, to);
            }
        }
        self.builder.finish()
    }
}

/// The shortest chain from a root to every package of a graph.
#[derive(Debug)]
pub struct Paths<'g> {
    graph: &'g DependencyGraph,
    /// The node before each on its shortest chain; `None` for roots and unreachable nodes.
    parent: Vec<Option<usize>>,
    reached: Vec<bool>,
    /// Whether the file marks each node indirect.
    indirect: Vec<bool>,
    index: HashMap<(&'g str, &'g str), usize>,
}

impl<'g> Paths<'g> {
    /// Walks the graph breadth-first from all its roots at once (cycles and
    /// repeated versions are fine: each node is reached once, by its first,
    /// shortest chain; ties go to the earlier root and edge).
    pub fn of(graph: &'g DependencyGraph) -> Self {
        let n = graph.nodes.len();
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(from, to) in &graph.edges {
            if let Some(list) = next.get_mut(from) {
                list.push(to);
            }
        }
        let mut parent = vec![None; n];
        let mut reached = vec![false; n];
        let mut queue = VecDeque::new();
        for &root in &graph.roots {
            if root < n && !reached[root] {
                reached[root] = true;
                queue.push_back(root);
            }
        }
        while let Some(at) = queue.pop_front() {
            for &to in &next[at] {
                if to < n && !reached[to] {
                    reached[to] = true;
                    parent[to] = Some(at);
                    queue.push_back(to);
                }
            }
        }
        let index = graph
            .nodes
            .iter()
            .enumerate()
            .map(|(i, (name, version))| ((name.as_str(), version.as_str()), i))
            .collect();
        let mut indirect = vec![false; n];
        for &node in &graph.indirect {
            if let Some(mark) = indirect.get_mut(node) {
                *mark = true;
            }
        }
        Self {
            graph,
            parent,
            reached,
            indirect,
            index,
        }
    }

    /// The chain from a root to the package, as (name, version) pairs, root
    /// first; `None` when the graph does not hold it or no root reaches it.
    pub fn path(&self, name: &str, version: &str) -> Option<Vec<(&'g str, &'g str)>> {
        let &node = self.index.get(&(name, version))?;
        if !self.reached[node] {
            return None;
        }
        let mut chain = vec![node];
        let mut at = node;
        while let Some(p) = self.parent[at] {
            chain.push(p);
            at = p;
        }
        chain.reverse();
        Some(
            chain
                .into_iter()
                .map(|i| {
                    let (name, version) = &self.graph.nodes[i];
                    (name.as_str(), version.as_str())
                })
                .collect(),
        )
    }

    /// Whether a root depends on the package itself (`Some(true)`), only
    /// through others (`Some(false)`: a longer chain, or an indirect mark),
    /// or the graph cannot say (`None`). A root is its own: `Some(true)`.
    pub fn direct(&self, name: &str, version: &str) -> Option<bool> {
        let &node = self.index.get(&(name, version))?;
        if self.reached[node] {
            let mut hops = 0;
            let mut at = node;
            while let Some(p) = self.parent[at] {
                hops += 1;
                at = p;
            }
            return Some(hops <= 1);
        }
        self.indirect[node].then_some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_chains_through_cycles_and_versions() {
        let mut b = GraphBuilder::default();
        let app = b.node("app", "0.1.0");
        let hyper = b.node("hyper", "0.14.1");
        let h2 = b.node("h2", "0.3.26");
        let tokio = b.node("tokio", "1.0.0");
        let old_h2 = b.node("h2", "0.2.0");
        b.root(app);
        b.edge(app, tokio);
        b.edge(app, hyper);
        b.edge(tokio, hyper);
        b.edge(hyper, h2);
        b.edge(h2, hyper); // a cycle
        b.edge(tokio, old_h2);
        let graph = b.finish().unwrap();
        let paths = Paths::of(&graph);
        assert_eq!(
            paths.path("h2", "0.3.26").unwrap(),
            [("app", "0.1.0"), ("hyper", "0.14.1"), ("h2", "0.3.26")]
        );
        assert_eq!(
            paths.path("h2", "0.2.0").unwrap(),
            [("app", "0.1.0"), ("tokio", "1.0.0"), ("h2", "0.2.0")]
        );
        assert_eq!(paths.direct("hyper", "0.14.1"), Some(true));
        assert_eq!(paths.direct("h2", "0.3.26"), Some(false));
        assert_eq!(paths.direct("app", "0.1.0"), Some(true));
        assert_eq!(paths.path("serde", "1.0.0"), None);
    }

    #[test]
    fn a_graph_without_roots_or_edges_says_nothing() {
        let mut b = GraphBuilder::default();
        b.node("a", "1");
        assert!(b.finish().is_none());
    }
}
