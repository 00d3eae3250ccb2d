package inbox

// Holds reports whether the index holds a conversation's names.
func (x *NameIndex) Holds(id int64) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.convs[id] != nil
}
