// Two workers for two cores: test classes run side by side, tests within a class in order.
[assembly: Parallelize(Workers = 2, Scope = ExecutionScope.ClassLevel)]
