//! Compiling a template or expression into minijinja instructions whose growth is bounded.
//!
//! minijinja runs its operators (`+`, `*`, `~`, `in`) and raw text inside its VM, where no
//! filter or function sees them. So we compile with minijinja's own parser and code generator
//! (`unstable_machinery`, pinned in `Cargo.lock`) and rewrite the few instructions that can
//! make things bigger into calls of the bounded functions of `library.rs`:
//!
//! | instruction | becomes |
//! |---|---|
//! | `Add`, `Mul`, `StringConcat`, `In` | a call of `__usvc_add`, `__usvc_mul`, `__usvc_concat`, `__usvc_in` |
//! | `EmitRaw(text)` | `LoadConst(text)`, `Emit` (so raw text is counted like any output) |
//! | `StoreLocal(name)` | a call of `__usvc_keep` (depth check), then `StoreLocal(name)` |
//! | `SetAttr(name)` | a call of `__usvc_keep_in_namespace`, `UnpackList(2)`, `SetAttr(name)` |
//!
//! Jumps are renumbered for the added instructions. Chained comparisons with `in`
//! (`a < b in c`) are refused: they compile to an instruction with no bounded form.

use std::collections::BTreeMap;

use minijinja::machinery::{self, CodeGenerator, Instruction, Instructions, WhitespaceConfig};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Error, Value};

use super::constants;
use super::library::{self, ops};
use super::limits::{self, refused};

/// A template's instructions, rewritten.
pub fn template(source: &str) -> Result<Instructions<'_>, Error> {
    reserved(source)?;
    let ast = machinery::parse(
        source,
        "<template>",
        SyntaxConfig,
        WhitespaceConfig::default(),
    )?;
    limits::within_meter(|| constants::check_statement(&ast))?;
    let mut gen = CodeGenerator::new("<template>", source);
    gen.compile_stmt(&ast);
    harden(&gen.finish().0)
}

/// An expression's instructions, rewritten.
pub fn expression(source: &str) -> Result<Instructions<'_>, Error> {
    reserved(source)?;
    let ast = machinery::parse_expr(source)?;
    limits::within_meter(|| constants::fold(&ast))?;
    let mut gen = CodeGenerator::new("<expression>", source);
    gen.compile_expr(&ast);
    harden(&gen.finish().0)
}

/// Runs rewritten instructions against `context`; rendered text goes to `out`, and the value an
/// expression leaves on the stack is returned.
pub fn run(
    instructions: &Instructions<'_>,
    context: Value,
    out: &mut String,
) -> Result<Option<Value>, Error> {
    let vm = machinery::Vm::new(library::environment());
    let mut output = machinery::make_string_output(out);
    vm.eval(
        instructions,
        context,
        &BTreeMap::new(),
        &mut output,
        AutoEscape::None,
    )
    .map(|(value, _state)| value)
}

fn reserved(source: &str) -> Result<(), Error> {
    if source.contains(ops::RESERVED) {
        Err(refused(format!(
            "names starting with `{}` are reserved",
            ops::RESERVED
        )))
    } else {
        Ok(())
    }
}

/// How many instructions `instruction` becomes.
fn width(instruction: &Instruction<'_>) -> u32 {
    match instruction {
        Instruction::EmitRaw(_) | Instruction::StoreLocal(_) => 2,
        Instruction::SetAttr(_) => 3,
        _ => 1,
    }
}

fn harden<'s>(old: &Instructions<'s>) -> Result<Instructions<'s>, Error> {
    let len = u32::try_from(old.len()).map_err(|_| refused("the template is too long"))?;
    // Where each old instruction starts in the new program (and one past the end).
    let mut starts = Vec::with_capacity(old.len() + 1);
    let mut at = 0u32;
    for idx in 0..len {
        starts.push(at);
        at += old.get(idx).map_or(1, width);
    }
    starts.push(at);
    let target = |t: &u32| starts.get(*t as usize).copied().unwrap_or(at);

    let mut new = Instructions::new(old.name(), old.source());
    for idx in 0..len {
        let Some(instruction) = old.get(idx) else {
            continue;
        };
        let line = old
            .get_line(idx)
            .and_then(|l| u16::try_from(l).ok())
            .unwrap_or(0);
        let mut add = |i: Instruction<'s>| {
            new.add_with_line(i, line);
        };
        match instruction {
            Instruction::Add => add(Instruction::CallFunction(ops::ADD, Some(2))),
            Instruction::Mul => add(Instruction::CallFunction(ops::MUL, Some(2))),
            Instruction::StringConcat => add(Instruction::CallFunction(ops::CONCAT, Some(2))),
            Instruction::In => add(Instruction::CallFunction(ops::CONTAINS, Some(2))),
            // The operator's type is not exported; its name is.
            Instruction::CompareAndPreserve(op) if format!("{op:?}").contains("In") => {
                return Err(refused(
                    "`in` inside a chained comparison is not supported; split it with `and`",
                ))
            }
            Instruction::EmitRaw(text) => {
                add(Instruction::LoadConst(Value::from(*text)));
                add(Instruction::Emit);
            }
            Instruction::StoreLocal(name) => {
                add(Instruction::CallFunction(ops::KEEP, Some(1)));
                add(Instruction::StoreLocal(name));
            }
            Instruction::SetAttr(name) => {
                add(Instruction::CallFunction(ops::KEEP_IN_NAMESPACE, Some(2)));
                add(Instruction::UnpackList(2));
                add(Instruction::SetAttr(name));
            }
            Instruction::Jump(t) => add(Instruction::Jump(target(t))),
            Instruction::JumpIfFalse(t) => add(Instruction::JumpIfFalse(target(t))),
            Instruction::JumpIfFalseOrPop(t) => add(Instruction::JumpIfFalseOrPop(target(t))),
            Instruction::JumpIfTrueOrPop(t) => add(Instruction::JumpIfTrueOrPop(target(t))),
            Instruction::Iterate(t) => add(Instruction::Iterate(target(t))),
            other => add(other.clone()),
        }
    }
    Ok(new)
}
