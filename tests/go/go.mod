module credtrace.test/go

go 1.19
