fn main() {
    callflow::mount()
}
