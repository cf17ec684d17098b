fn main() -> std::process::ExitCode {
    sweetlies_appliance::main()
}
