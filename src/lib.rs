pub use synmarket_engine as engine;
