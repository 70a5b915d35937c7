// Two cores are shared by the whole team; class-level parallelism keeps a test class's fixtures
// (temporary folders, external tools) from competing with each other.
[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]
