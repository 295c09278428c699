//! The sandbox contract: what crosses between the runner and a dynamic isolate.
