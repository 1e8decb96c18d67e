//! Layout: the diagram as instructions, each node once, jumps within the 8-bit offsets
//! of classic BPF.

use super::diagram::{Graph, Id, Node};
use crate::bpf::{
    Instruction, BPF_ABS, BPF_ALU, BPF_AND, BPF_JA, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W,
};

/// Lays the diagram out backwards: `out[0]` is the last instruction.
pub(super) struct Layout<'g> {
    pub(super) g: &'g Graph,
    pub(super) out: Vec<Instruction>,
    /// Per node, the position (counted from the end) of its first instruction.
    pub(super) at: Vec<Option<usize>>,
    /// Per `ret` constant, the position of its nearest copy.
    pub(super) rets: rustc_hash::FxHashMap<u32, usize>,
}

/// Farthest a conditional jump reaches.
pub(super) const MAX_OFF: usize = u8::MAX as usize;

impl<'g> Layout<'g> {
    pub(super) fn new(g: &'g Graph) -> Self {
        Self {
            g,
            // Most nodes are one instruction.
            out: Vec::with_capacity(g.nodes.len() + 8),
            at: vec![None; g.nodes.len()],
            rets: rustc_hash::FxHashMap::default(),
        }
    }

    pub(super) fn emit(mut self, root: Id) -> Vec<Instruction> {
        self.place(root);
        self.out.reverse();
        self.out
    }

    pub(super) fn push(&mut self, i: Instruction) -> usize {
        self.out.push(i);
        self.out.len() - 1
    }

    pub(super) fn push_ret(&mut self, k: u32) -> usize {
        let p = self.push(Instruction::stmt(BPF_RET | BPF_K, k));
        self.rets.insert(k, p);
        p
    }

    /// Places `id` (if not yet) and returns the position of its first instruction.
    pub(super) fn place(&mut self, id: Id) -> usize {
        if let Node::Ret(k) = self.g.nodes[id] {
            return match self.rets.get(&k) {
                Some(&p) if self.out.len() - p - 1 <= MAX_OFF - 2 => p,
                _ => self.push_ret(k),
            };
        }
        if let Some(p) = self.at[id] {
            return p;
        }
        let p = match self.g.nodes[id] {
            Node::Ret(_) => unreachable!("handled above"),
            Node::Load(word, next) => {
                self.follow(next);
                self.push(Instruction::stmt(
                    BPF_LD | BPF_W | BPF_ABS,
                    u32::from(word) * 4,
                ))
            }
            Node::And(k, next) => {
                self.follow(next);
                self.push(Instruction::stmt(BPF_ALU | BPF_AND | BPF_K, k))
            }
            Node::Jump { op, k, jt, jf } => {
                let mut t = self.place(jt);
                let mut f = self.place(jf);
                loop {
                    let here = self.out.len();
                    if here - t - 1 > MAX_OFF {
                        t = self.trampoline(jt, t);
                        continue;
                    }
                    if here - f - 1 > MAX_OFF {
                        f = self.trampoline(jf, f);
                        continue;
                    }
                    break;
                }
                let here = self.out.len();
                // Both offsets were checked to fit 8 bits just above.
                self.push(Instruction::jump(
                    op,
                    k,
                    (here - t - 1) as u8,
                    (here - f - 1) as u8,
                ))
            }
        };
        self.at[id] = Some(p);
        p
    }

    /// Makes `next` the instruction right after the one about to be placed.
    pub(super) fn follow(&mut self, next: Id) {
        let p = self.place(next);
        if p + 1 != self.out.len() {
            let off = self.out.len() - p - 1;
            // A program is at most a few thousand instructions.
            self.push(Instruction::stmt(BPF_JMP | BPF_JA, off as u32));
        }
    }

    /// A nearby stand-in for a far target: a copy of a `ret`, or a `ja`.
    pub(super) fn trampoline(&mut self, id: Id, target: usize) -> usize {
        if let Node::Ret(k) = self.g.nodes[id] {
            return self.push_ret(k);
        }
        let off = self.out.len() - target - 1;
        self.push(Instruction::stmt(BPF_JMP | BPF_JA, off as u32))
    }
}
