//! Multi-task training of the teacher, one job per file: the recipe's data
//! ([`tasks`]), its heads ([`heads`]), the batches of an epoch ([`plan`],
//! [`schedule`], [`batch`]), the loss ([`step`]), the loop ([`epochs`]) with
//! its dev evaluation ([`dev`]), checkpoints and optimiser, and the start
//! ([`start`], [`resume`]) of a run. The recipe types are in
//! [`crate::recipe`]; the command line in [`args`].

pub mod args;
pub mod batch;
pub mod checkpoint;
pub mod dev;
pub mod epochs;
pub mod heads;
pub mod optim;
pub mod plan;
pub mod progress;
pub mod resume;
pub mod schedule;
pub mod start;
pub mod step;
pub mod tasks;
